import { ApiError, schemaError } from '../../errors/index.ts';
import type { NamedTensor, SequenceRef } from '../../tensor/index.ts';
import type { InferRequestBody } from '../protocol.ts';
import { ajv } from './ajv.ts';

// Other fields (a datatype, say) have always been accepted and ignored, so they still are. The model's
// own checks (names, rank, fixed dimensions, data length against the shape) are the batcher's.
const validate = ajv.compile<InferRequestBody>({
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'shape', 'data'],
        properties: {
          name: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
          data: { type: 'array', items: { type: 'number' } },
        },
      },
    },
    sequence: {
      type: 'object',
      required: ['id'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1, maxLength: 256 },
        start: { type: 'boolean' },
        end: { type: 'boolean' },
      },
    },
  },
});

/**
 * The inputs as Float32 tensors and the request's place in its sequence (null: none given), or
 * invalid_tensor naming the field at fault (bad JSON included).
 */
export function parseInferBody(body: unknown): { inputs: NamedTensor[]; sequence: SequenceRef | null } {
  if (body === undefined)
    throw new ApiError('invalid_tensor', 'send { inputs: [{ name, shape, data }] } as JSON');
  if (!validate(body)) throw schemaError(validate.errors, 'invalid_tensor');
  const s = body.sequence;
  return {
    inputs: body.inputs.map((t) => ({ name: t.name, shape: t.shape, data: Float32Array.from(t.data) })),
    sequence: s ? { id: s.id, start: s.start ?? false, end: s.end ?? false } : null,
  };
}
