import { ApiError } from '../errors/index.ts';

/** `?lines=N` of GET /instances/{id}/logs: how many of the last lines; left out, all that are kept. */
export function lineCount(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (!/^[1-9]\d{0,5}$/.test(q))
    throw new ApiError('invalid_request', `lines must be a whole number from 1 to 999999, got '${q}'`, {
      param: 'lines',
    });
  return Number(q);
}
