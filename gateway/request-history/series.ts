import { addCounters, emptyBucket } from './counters.ts';
import type { Bucket, Counters } from './types.ts';

/** What to read for a series: the requested buckets (zeroed) and the starts of the fine buckets they sum. */
export interface SeriesPlan {
  buckets: Bucket[];
  fineStarts: number[];
  /** Adds one fine bucket into the requested bucket that holds it. */
  add(fineStart: number, c: Partial<Counters>): void;
}

export function planSeries(fromMs: number, toMs: number, bucketMs: number, fineMs: number): SeriesPlan {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs < fromMs)
    throw new RangeError(`history series: need finite fromMs <= toMs, got [${fromMs}, ${toMs})`);
  if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0)
    throw new RangeError(`history series: bucketMs must be a positive integer, got ${bucketMs}`);
  const buckets: Bucket[] = [];
  for (let s = fromMs; s < toMs; s += bucketMs) buckets.push(emptyBucket(s));
  const end = fromMs + buckets.length * bucketMs;
  const fineStarts: number[] = [];
  for (let f = Math.ceil(fromMs / fineMs) * fineMs; f < end; f += fineMs) fineStarts.push(f);
  return {
    buckets,
    fineStarts,
    add(fineStart, c) {
      const b = buckets[Math.floor((fineStart - fromMs) / bucketMs)];
      if (b !== undefined) addCounters(b, c);
    },
  };
}
