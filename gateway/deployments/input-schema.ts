import { Ajv, type ValidateFunction } from 'ajv';
import { ApiError, schemaError } from '../errors/index.ts';

export type InputCheck = { ok: true } | { ok: false; error: ApiError };

/**
 * Compiles deployments' input schemas. One Ajv for all: compiling in a fresh one costs ~20x more, which
 * adds up over a registry's startup. `addUsedSchema: false` keeps two deployments' `$id`s from colliding.
 */
export class InputSchemas {
  readonly #ajv = new Ajv({ allErrors: false, strict: false, addUsedSchema: false });

  /** Throws deployment_invalid when the schema does not compile or is async (its answer would be a Promise). */
  compile(schema: Record<string, unknown>): ValidateFunction {
    let validate: ValidateFunction;
    try {
      validate = this.#ajv.compile(schema);
    } catch (e) {
      throw new ApiError(
        'deployment_invalid',
        `inputSchema is not a valid JSON Schema: ${(e as Error).message}`,
        {
          param: 'inputSchema',
        },
      );
    }
    if ((validate as { $async?: unknown }).$async === true) {
      this.release(schema);
      throw new ApiError('deployment_invalid', 'inputSchema must not be $async', { param: 'inputSchema' });
    }
    return validate;
  }

  /** Drops Ajv's cached function for a schema no deployment uses any more. */
  release(schema: Record<string, unknown>): void {
    this.#ajv.removeSchema(schema);
  }
}

/** Runs a compiled input schema; a violation is invalid_request naming the field, as the OpenAI routes do. */
export function checkInput(validate: ValidateFunction, body: unknown): InputCheck {
  return validate(body) ? { ok: true } : { ok: false, error: schemaError(validate.errors) };
}
