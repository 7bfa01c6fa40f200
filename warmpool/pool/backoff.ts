/** Exponential backoff for a crash loop: base, 2·base, 4·base … capped at max. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/** The wait after the `failures`-th consecutive failure (1-based). */
export function backoffMs(p: BackoffPolicy, failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(p.maxMs, p.baseMs * 2 ** Math.min(failures - 1, 30));
}
