export const FINE_MS = 1000;
export const COARSE_MS = 60_000;

/** Buckets of `bucketMs` starting in [from, to), to be read and added in this order. */
export interface Segment {
  readonly bucketMs: number;
  readonly from: number;
  readonly to: number;
}

const floorTo = (t: number, step: number): number => Math.floor(t / step) * step;
const ceilTo = (t: number, step: number): number => Math.ceil(t / step) * step;

/**
 * What to read to bring a history from `from` up to `to` (both multiples of 1 s): whole minutes where
 * the gap reaches further back than the fine history keeps, seconds for the rest. Pure: no I/O, no clock.
 */
export function planCatchUp(from: number, to: number, fineKeepMs: number): Segment[] {
  if (to <= from) return [];
  const cut = Math.max(from, floorTo(to - fineKeepMs, COARSE_MS));
  const out: Segment[] = [];
  if (cut > from) {
    // Up to the first whole minute in seconds (the minute's earlier part is already in the history).
    const headEnd = Math.min(cut, ceilTo(from, COARSE_MS));
    if (headEnd > from) out.push({ bucketMs: FINE_MS, from, to: headEnd });
    if (cut > headEnd) out.push({ bucketMs: COARSE_MS, from: headEnd, to: cut });
  }
  out.push({ bucketMs: FINE_MS, from: cut, to });
  return out;
}

/** Where a deployment seen for the first time starts: the coarse history's whole span, on a minute. */
export function backfillFrom(to: number, coarseKeepMs: number): number {
  return floorTo(to - coarseKeepMs, COARSE_MS);
}

/** The newest instant whose 1 s buckets are all settled at `now`. */
export function settledAt(now: number, settleMs: number): number {
  return floorTo(now - settleMs, FINE_MS);
}
