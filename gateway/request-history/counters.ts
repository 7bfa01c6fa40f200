import type { Bucket, Counters, RequestEnd } from './types.ts';

export const COUNTER_FIELDS = [
  'arrivals',
  'promptTokens',
  'outputTokens',
  'errors',
  'ttftMsSum',
  'ttftCount',
] as const satisfies readonly (keyof Counters)[];

export function emptyCounters(): Counters {
  return { arrivals: 0, promptTokens: 0, outputTokens: 0, errors: 0, ttftMsSum: 0, ttftCount: 0 };
}

export function emptyBucket(start: number): Bucket {
  return { start, ...emptyCounters() };
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** A malformed record is a caller bug: it would poison the counters, so it is refused loudly. */
export function checkArrival(model: string, at: number): void {
  if (typeof model !== 'string' || model.length === 0)
    throw new RangeError(`history record has an invalid model: ${String(model)}`);
  if (!Number.isFinite(at)) throw new RangeError(`history record has an invalid at: ${String(at)}`);
}

/** As checkArrival, for the end of a request. */
export function checkEnd(r: RequestEnd): void {
  checkArrival(r.model, r.at);
  const bad = !isCount(r.promptTokens)
    ? 'promptTokens'
    : !isCount(r.outputTokens)
      ? 'outputTokens'
      : r.ttftMs !== null && !(Number.isFinite(r.ttftMs) && r.ttftMs >= 0)
        ? 'ttftMs'
        : null;
  if (bad !== null) throw new RangeError(`history record has an invalid ${bad}: ${String(r[bad])}`);
}

/** Adds the end of one request to `c` in place: everything but its arrival, counted when it came. */
export function countEnd(c: Counters, r: RequestEnd): void {
  c.promptTokens += r.promptTokens;
  c.outputTokens += r.outputTokens;
  if (r.outcome === 'error' || r.outcome === 'rejected') c.errors += 1;
  if (r.ttftMs !== null) {
    c.ttftMsSum += Math.round(r.ttftMs);
    c.ttftCount += 1;
  }
}

/** Adds `from` into `into` in place. */
export function addCounters(into: Counters, from: Partial<Counters>): void {
  for (const f of COUNTER_FIELDS) into[f] += from[f] ?? 0;
}
