import { ApiError } from '../errors/index.ts';
import type { SequenceBody } from '../upstream/index.ts';

/** Longest correlation id taken as a string. */
const MAX_ID_LENGTH = 256;

/**
 * A request's place in a stateful model's sequence, from Triton's parameters: `sequence_id` (a
 * non-empty string, or an integer ≥ 1 keyed as its decimal digits), `sequence_start`, `sequence_end`.
 * Null when none is given. `at` prefixes the field names the refusals name (`parameters.` for KServe v2).
 */
export function sequenceParams(fields: Record<string, unknown> | undefined, at: string): SequenceBody | null {
  const id = fields?.sequence_id;
  const start = fields?.sequence_start;
  const end = fields?.sequence_end;
  if (id === undefined) {
    if (start !== undefined || end !== undefined) {
      throw new ApiError('invalid_request', 'sequence_start and sequence_end need a sequence_id', {
        param: `${at}sequence_id`,
      });
    }
    return null;
  }
  const key =
    typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH
      ? id
      : Number.isSafeInteger(id) && (id as number) >= 1
        ? String(id)
        : null;
  if (key === null) {
    throw new ApiError(
      'invalid_request',
      `sequence_id must be a string of 1 to ${MAX_ID_LENGTH} characters or an integer ≥ 1`,
      { param: `${at}sequence_id` },
    );
  }
  for (const [name, v] of [
    ['sequence_start', start],
    ['sequence_end', end],
  ] as const) {
    if (v !== undefined && typeof v !== 'boolean')
      throw new ApiError('invalid_request', `${name} must be true or false`, { param: `${at}${name}` });
  }
  return { id: key, start: start === true, end: end === true };
}
