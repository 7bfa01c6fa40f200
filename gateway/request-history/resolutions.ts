import type { Resolution } from './types.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** 1 s buckets for an hour, 60 s buckets for 14 days. */
const DEFAULT_RESOLUTIONS: readonly Resolution[] = Object.freeze([
  Object.freeze({ bucketMs: SECOND, retentionMs: HOUR }),
  Object.freeze({ bucketMs: MINUTE, retentionMs: 14 * DAY }),
]);

/** Validates once, sorts finest first, freezes. */
export function checkResolutions(
  resolutions: readonly Resolution[] = DEFAULT_RESOLUTIONS,
): readonly Resolution[] {
  if (resolutions.length === 0) throw new RangeError('history resolutions: at least one is required');
  const seen = new Set<number>();
  for (const [i, r] of resolutions.entries()) {
    if (!Number.isSafeInteger(r.bucketMs) || r.bucketMs <= 0)
      throw new RangeError(
        `history resolutions[${i}].bucketMs must be a positive integer, got ${r.bucketMs}`,
      );
    if (!Number.isSafeInteger(r.retentionMs) || r.retentionMs < r.bucketMs)
      throw new RangeError(
        `history resolutions[${i}].retentionMs must be an integer >= bucketMs (${r.bucketMs}), got ${r.retentionMs}`,
      );
    if (seen.has(r.bucketMs))
      throw new RangeError(`history resolutions[${i}].bucketMs ${r.bucketMs} repeats`);
    seen.add(r.bucketMs);
  }
  return Object.freeze(
    [...resolutions].sort((a, b) => a.bucketMs - b.bucketMs).map((r) => Object.freeze({ ...r })),
  );
}

export function bucketStart(at: number, bucketMs: number): number {
  return Math.floor(at / bucketMs) * bucketMs;
}

/** A bucket is alive while now < start + retentionMs (Redis gets the same instant through PEXPIREAT). */
export function expiresAt(start: number, r: Resolution): number {
  return start + r.retentionMs;
}

/**
 * The finest resolution whose bucketMs divides `bucketMs` and whose retention still covers `fromMs`;
 * when none covers it, the divisor with the longest retention (older buckets read as zero).
 */
export function chooseResolution(
  resolutions: readonly Resolution[],
  fromMs: number,
  bucketMs: number,
  now: number,
): Resolution {
  const divisors = resolutions.filter((r) => bucketMs % r.bucketMs === 0);
  const longest = divisors.reduce<Resolution | undefined>(
    (best, r) => (best === undefined || r.retentionMs > best.retentionMs ? r : best),
    undefined,
  );
  if (longest === undefined)
    throw new RangeError(
      `history series: bucketMs ${bucketMs} is not a multiple of any resolution (${resolutions.map((r) => r.bucketMs).join(', ')})`,
    );
  return divisors.find((r) => fromMs + r.retentionMs > now) ?? longest;
}
