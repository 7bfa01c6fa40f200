/** Nearest-rank percentile over exact samples (the same definition as runtime/bench). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function sortedCopy(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Rounds for the report: two decimals, null stays null. */
export const r2 = (x: number | null): number | null =>
  x === null || !Number.isFinite(x) ? null : Math.round(x * 100) / 100;

/** Rounds for ratios and rates: four decimals. */
export const r4 = (x: number | null): number | null =>
  x === null || !Number.isFinite(x) ? null : Math.round(x * 10_000) / 10_000;
