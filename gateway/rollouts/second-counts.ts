import type { VersionFigures } from './canary-verdict.ts';
import { ttftBucket, ttftQuantile } from './ttft-buckets.ts';

/** One pool's requests that ended in one second: what replicas add up in Redis. */
export interface SecondCounts {
  requests: number;
  errors: number;
  /** TTFT bucket (ttft-buckets.ts) -> requests. */
  readonly ttft: Map<number, number>;
}

/** A pool's counts by second (the second's start, epoch ms). */
export type Seconds = Map<number, SecondCounts>;

export const secondOf = (at: number): number => Math.floor(at / 1000) * 1000;

export function countsAt(s: Seconds, second: number): SecondCounts {
  let c = s.get(second);
  if (!c) s.set(second, (c = { requests: 0, errors: 0, ttft: new Map() }));
  return c;
}

export function addRequest(s: Seconds, at: number, error: boolean, ttftMs: number | null): void {
  const c = countsAt(s, secondOf(at));
  c.requests++;
  if (error) c.errors++;
  if (ttftMs !== null) addTo(c.ttft, ttftBucket(ttftMs), 1);
}

/** Adds `from`'s counts into `into`. */
export function addSeconds(into: Seconds, from: Seconds): void {
  for (const [second, c] of from) {
    const to = countsAt(into, second);
    to.requests += c.requests;
    to.errors += c.errors;
    for (const [b, n] of c.ttft) addTo(to.ttft, b, n);
  }
}

/** Drops the seconds that start before `before`. */
export function dropBefore(s: Seconds, before: number): void {
  for (const second of s.keys()) if (second < before) s.delete(second);
}

/**
 * The figures of the seconds that start in (now - windowMs, now], summed over layers (e.g. what Redis
 * held at the last read and what this replica counted since).
 */
export function windowFigures(layers: readonly Seconds[], now: number, windowMs: number): VersionFigures {
  let requests = 0;
  let errors = 0;
  const ttft = new Map<number, number>();
  for (const layer of layers)
    for (const [second, c] of layer) {
      if (second <= now - windowMs || second > now) continue;
      requests += c.requests;
      errors += c.errors;
      for (const [b, n] of c.ttft) addTo(ttft, b, n);
    }
  return { requests, errors, ttftP90Ms: ttftQuantile(ttft, 0.9) };
}

export function addTo<K>(m: Map<K, number>, k: K, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}
