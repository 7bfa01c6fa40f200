import { ApiError, schemaError } from '../../errors/index.ts';
import type { NamedTensor } from '../../tensor/index.ts';
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
  },
});

/** The inputs as Float32 tensors, or invalid_tensor naming the field at fault (bad JSON included). */
export function parseInferBody(body: unknown): NamedTensor[] {
  if (body === undefined)
    throw new ApiError('invalid_tensor', 'send { inputs: [{ name, shape, data }] } as JSON');
  if (!validate(body)) throw schemaError(validate.errors, 'invalid_tensor');
  return body.inputs.map((t) => ({ name: t.name, shape: t.shape, data: Float32Array.from(t.data) }));
}
