import { ApiError, schemaError } from '../../errors/index.ts';
import type { GenerateRequestBody } from '../protocol.ts';
import { ajv } from './ajv.ts';

/** An adapter as a request names it (and as POST /adapters loads it): its id and PEFT folder. */
export const ADAPTER_SCHEMA = {
  type: 'object',
  required: ['id', 'path'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$' },
    path: { type: 'string', minLength: 1, maxLength: 4096 },
  },
} as const;

// Other fields have always been accepted and ignored, so they still are (no additionalProperties: false).
const validate = ajv.compile<GenerateRequestBody>({
  type: 'object',
  required: ['prompt'],
  properties: {
    prompt: { type: ['string', 'array'], items: { type: 'integer' } },
    params: {},
    priority: {},
    adapter: ADAPTER_SCHEMA,
  },
});

/** The body, or invalid_json when it is not a JSON object, invalid_request naming the field at fault. */
export function parseGenerateBody(body: unknown): GenerateRequestBody {
  if (body === null || typeof body !== 'object') throw new ApiError('invalid_json', 'send a JSON object');
  if (!validate(body)) throw schemaError(validate.errors);
  return body;
}
