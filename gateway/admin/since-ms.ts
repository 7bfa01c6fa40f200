import { ApiError } from '../errors/index.ts';

/** `since` as epoch ms; default: the last hour. */
export function sinceMs(v: string | undefined): number {
  if (v === undefined) return Date.now() - 3_600_000;
  const n = Number(v);
  if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(n))
    throw new ApiError('invalid_request', `since must be epoch milliseconds, got '${v}'`, { param: 'since' });
  return n;
}
