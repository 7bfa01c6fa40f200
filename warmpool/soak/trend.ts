/** One reading of a quantity at a time, for a trend. */
export interface TimedValue {
  readonly tMs: number;
  readonly value: number;
}

/**
 * The least-squares slope of the readings, per minute: how fast memory grows across a soak once warm,
 * which the start and end figures alone hide (two points carry the noise of both). Null with fewer than
 * three readings or no spread in time.
 */
export function slopePerMinute(readings: readonly TimedValue[]): number | null {
  const n = readings.length;
  if (n < 3) return null;
  let st = 0;
  let sv = 0;
  for (const r of readings) {
    st += r.tMs;
    sv += r.value;
  }
  const mt = st / n;
  const mv = sv / n;
  let cov = 0;
  let vart = 0;
  for (const r of readings) {
    cov += (r.tMs - mt) * (r.value - mv);
    vart += (r.tMs - mt) ** 2;
  }
  return vart === 0 ? null : (cov / vart) * 60_000;
}
