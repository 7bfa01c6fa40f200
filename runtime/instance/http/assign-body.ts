import { ApiError, schemaError } from '../../errors/index.ts';
import { ajv } from './ajv.ts';

/** POST /assign's body: the flags main.ts takes, as the instance the standby becomes would get them. */
export interface AssignBody {
  readonly args: string[];
}

// Other fields have always been accepted and ignored, so they still are.
const validate = ajv.compile<AssignBody>({
  type: 'object',
  required: ['args'],
  properties: { args: { type: 'array', items: { type: 'string' } } },
});

/** The flags, or invalid_assignment naming the field at fault (bad JSON included). */
export function parseAssignBody(body: unknown): string[] {
  if (body === undefined) throw new ApiError('invalid_assignment', 'send {"args": [flag, ...]} as JSON');
  if (!validate(body)) throw schemaError(validate.errors, 'invalid_assignment');
  return body.args;
}
