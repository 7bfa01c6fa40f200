import { countsAt, type SecondCounts, type Seconds } from './second-counts.ts';

/**
 * How the shared version figures lie in Redis, under a prefix (default 'wg:vstats:'):
 * - `<prefix><pool>:m:<minuteStart>`: a hash per pool per minute, the fields of each second s (0-59) of
 *   it: `<s>:r` requests, `<s>:e` errors, `<s>:<bucket>` requests in that TTFT bucket (ttft-buckets.ts).
 *   Every replica adds to them with HINCRBY; they expire `keepMs` after the minute ends.
 * - `<prefix><pool>:total`: a hash with `requests` and `errors` since the pool was first counted.
 */
export const MINUTE_MS = 60_000;

export const minuteOf = (at: number): number => Math.floor(at / MINUTE_MS) * MINUTE_MS;

export const minuteKey = (prefix: string, pool: string, minute: number): string =>
  `${prefix}${pool}:m:${minute}`;

export const totalsKey = (prefix: string, pool: string): string => `${prefix}${pool}:total`;

/** The HINCRBY (field, increment) pairs of one second, within its minute's hash. */
export function fieldsOf(second: number, c: SecondCounts): [string, number][] {
  const s = (second - minuteOf(second)) / 1000;
  const out: [string, number][] = [[`${s}:r`, c.requests]];
  if (c.errors > 0) out.push([`${s}:e`, c.errors]);
  for (const [b, n] of c.ttft) out.push([`${s}:${b}`, n]);
  return out;
}

/** One minute's hash as counts by second. */
export function parseMinute(minute: number, hash: Record<string, string>): Seconds {
  const out: Seconds = new Map();
  for (const [field, value] of Object.entries(hash)) {
    const [s, what] = field.split(':');
    const n = Number(value);
    if (what === undefined || !Number.isFinite(n)) continue;
    const c = countsAt(out, minute + Number(s) * 1000);
    if (what === 'r') c.requests += n;
    else if (what === 'e') c.errors += n;
    else c.ttft.set(Number(what), n);
  }
  return out;
}
