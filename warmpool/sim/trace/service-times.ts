import type { Random } from '../prng.ts';

/** A function's service times as the Azure durations file gives them (ms). */
export interface DurationStats {
  readonly average: number;
  /** Percentiles 0, 1, 25, 50, 75, 99, 100 of the per-invocation averages. */
  readonly percentiles: readonly number[];
}

const LEVELS = [0, 0.01, 0.25, 0.5, 0.75, 0.99, 1] as const;

/**
 * Draws a service time by inverting the piecewise-linear distribution through the given percentiles
 * (uniform between two of them): it keeps the file's spread and tails without assuming a shape.
 */
export function sampleServiceMs(stats: DurationStats, random: Random): number {
  const u = random();
  const p = stats.percentiles;
  for (let i = 1; i < LEVELS.length; i++) {
    if (u <= LEVELS[i]!) {
      const lo = LEVELS[i - 1]!;
      const f = (u - lo) / (LEVELS[i]! - lo);
      return Math.max(0, p[i - 1]! + f * (p[i]! - p[i - 1]!));
    }
  }
  return Math.max(0, p[p.length - 1]!);
}

export const PERCENTILE_COLUMNS = [
  'percentile_Average_0',
  'percentile_Average_1',
  'percentile_Average_25',
  'percentile_Average_50',
  'percentile_Average_75',
  'percentile_Average_99',
  'percentile_Average_100',
] as const;
