import { ApiError, schemaError } from '../../errors/index.ts';
import { ajv } from './ajv.ts';

/** POST /generate's body: the gateway sends { prompt, params, priority? }. */
export interface GenerateBody {
  /** Text, or token ids (the engine checks them against the vocabulary). */
  readonly prompt: string | number[];
  /** The engine's SamplingParams, checked by validateSamplingParams, which names the field at fault. */
  readonly params?: unknown;
  /** 1 is batch priority; any other value, or none, is interactive. */
  readonly priority?: unknown;
}

// Other fields have always been accepted and ignored, so they still are (no additionalProperties: false).
const validate = ajv.compile<GenerateBody>({
  type: 'object',
  required: ['prompt'],
  properties: {
    prompt: { type: ['string', 'array'], items: { type: 'integer' } },
    params: {},
    priority: {},
  },
});

/** The body, or invalid_json when it is not a JSON object, invalid_request naming the field at fault. */
export function parseGenerateBody(body: unknown): GenerateBody {
  if (body === null || typeof body !== 'object') throw new ApiError('invalid_json', 'send a JSON object');
  if (!validate(body)) throw schemaError(validate.errors);
  return body;
}
