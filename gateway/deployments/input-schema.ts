import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ApiError } from '../errors/index.ts';

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
  return validate(body) ? { ok: true } : { ok: false, error: inputError(validate.errors) };
}

function inputError(errors: ErrorObject[] | null | undefined): ApiError {
  const e = errors?.[0];
  if (!e) return new ApiError('invalid_request', 'the request body is invalid');
  const at = e.instancePath.slice(1).replaceAll('/', '.');
  const child =
    e.keyword === 'required'
      ? String(e.params.missingProperty)
      : e.keyword === 'additionalProperties'
        ? String(e.params.additionalProperty)
        : null;
  const field = child === null ? at : at ? `${at}.${child}` : child;
  const message =
    e.keyword === 'required'
      ? `'${field}' is required`
      : e.keyword === 'additionalProperties'
        ? `'${field}' is not a supported field`
        : field
          ? `'${field}' ${e.message}`
          : `the request body ${e.message}`;
  return new ApiError('invalid_request', message, { param: field || undefined });
}
