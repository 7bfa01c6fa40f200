import type { HistoryReader } from './demand-history.ts';

/**
 * What the predictive policy knows about a deployment's arrivals at minute (coarse bucket) grain,
 * derived from closed buckets only, so it holds for the whole current bucket and is cached per bucket.
 * Arrivals are modelled as a renewal process over buckets (the idle-time histogram gives the hazard of
 * the next active bucket after g empty ones: a timer every k minutes shows as hazard ≈ 1 at g = k - 1
 * and ≈ 0 elsewhere, whatever its phase within the minute), plus a daily profile once more than a day
 * of history exists, plus the counts per active bucket for sizing.
 */
export interface Forecast {
  /** hazard[g]: probability that the bucket after g empty buckets is active. */
  readonly hazard: Float64Array;
  /** Hazard of an idle bucket beyond the histogram's range, and the prior before idle times are seen. */
  readonly baseRate: number;
  /** moreAfter[n]: probability an active bucket holds more than n arrivals given it holds n (n ≥ 1). */
  readonly moreAfter: Float64Array;
  /** Mean arrivals in an active bucket (last day). */
  readonly perActive: number;
  /** The latest active bucket before the current one, or -Infinity. */
  readonly lastClosedActive: number;
  /** Arrivals expected in the next bucket: the recent level plus trend, or the last step of a ramp. */
  readonly level: number;
  /** Standard deviation of the recent per-bucket arrivals. */
  readonly spread: number;
  /** For buckets current+0..current+n: share of past days active around that time, -1 without a day of history. */
  readonly daily: Float64Array;
  /** For the same buckets: the most arrivals seen around that time on a past day. */
  readonly dailyCount: Float64Array;
  /** Run starts recur every `period` buckets (the most common distance between them), 0 when none does. */
  readonly period: number;
  /** For the same buckets: the most arrivals seen around the same phase of the last few periods. */
  readonly phaseCount: Float64Array;
  /** The same at exactly the same phase (no drift allowed): what a quiet phase holds. */
  readonly phaseExact: Float64Array;
  /**
   * For the same buckets: arrivals that came in that bucket's minute of each of the last
   * cycles (2 or 3) of a clock period (every 5, 10, 15, 20, 30 or 60 minutes: cron schedules),
   * the fewest of those cycles, the most over the periods. Finds a job every half hour on top of a
   * steady stream, which leaves no idle gap for `period` to find.
   */
  readonly recurring: Float64Array;
}

const DAY_MS = 86_400_000;
const PRIOR_WEIGHT = 2;
const MAX_COUNT = 16;
const HOUR_MS = 3_600_000;
const LEVEL_WINDOW = 10;
const MAX_DAYS = 7;
/**
 * Clock periods (ms) that `recurring` checks, and the cycles a count must have recurred in: three,
 * or two from half an hour up (an hourly job is seen twice in two hours; measured on the Azure 2019
 * trace: 451 fewer cold starts for 0.17 M more idle instance-s than three).
 */
const RECUR_PERIODS_MS = [5, 10, 15, 20, 30, 60].map((m) => m * 60_000);
const recurRepeats = (periodMs: number) => (periodMs >= 30 * 60_000 ? 2 : 3);

/**
 * The forecast for the bucket holding `now`, cached until that bucket closes; `ahead` future buckets
 * get a daily profile. O(histogram range + days × ahead) once per bucket and a day of buckets once an
 * hour; O(1) per call in between.
 */
export function forecastFor(history: HistoryReader, now: number, ahead: number): Forecast {
  const bucketMs = history.coarseMs;
  const start = Math.floor(now / bucketMs) * bucketMs;
  // Anchoring the memo at the bucket's start makes it expire exactly when the bucket closes.
  return history.memo(`predictive:forecast:${ahead}`, start, bucketMs, () => compute(history, start, ahead));
}

/**
 * Count statistics over the last day of closed buckets; cached for an hour (they move slowly), per
 * bucket while the history is younger than an hour.
 */
interface Counts {
  readonly baseRate: number;
  readonly moreAfter: Float64Array;
  readonly perActive: number;
  readonly period: number;
}

const PHASES = 3;
/** A period needs this many repeats, and this share of the run-start distances, to be believed. */
const PERIOD_MIN_REPEATS = 3;
const PERIOD_MIN_SHARE = 0.5;

function countsFor(history: HistoryReader, start: number): Counts {
  const bucketMs = history.coarseMs;
  const first = history.firstArrivalAt;
  const young = first === undefined || start - first < HOUR_MS;
  const anchor = young ? start : Math.floor(start / HOUR_MS) * HOUR_MS;
  const validMs = young ? bucketMs : HOUR_MS;
  return history.memo(young ? 'predictive:counts:young' : 'predictive:counts', anchor, validMs, () => {
    const from =
      first === undefined ? anchor : Math.max(Math.floor(first / bucketMs) * bucketMs, anchor - DAY_MS);
    const s = history.series(from, anchor, bucketMs);
    let active = 0;
    let sum = 0;
    let starts = 0;
    // The run the window opens in has no idle time before it to count: not a start.
    let prev = 1;
    let lastStart = -1;
    const distances = new Map<number, number>();
    const atLeast = new Float64Array(MAX_COUNT + 2);
    for (let i = 0; i < s.length; i++) {
      const n = s[i]!;
      if (n > 0 && prev <= 0) {
        starts++;
        if (lastStart >= 0) distances.set(i - lastStart, (distances.get(i - lastStart) ?? 0) + 1);
        lastStart = i;
      }
      prev = n;
      if (n <= 0) continue;
      active++;
      sum += n;
      for (let k = 1; k <= Math.min(n, MAX_COUNT + 1); k++) atLeast[k]! += 1;
    }
    const moreAfter = new Float64Array(MAX_COUNT + 1);
    // One arrival per active bucket (a timer) is the prior: more is unlikely until seen.
    for (let n = 1; n <= MAX_COUNT; n++) moreAfter[n] = (atLeast[n + 1]! + 0.1) / (atLeast[n]! + 1);
    // Runs of activity started per empty bucket: the chance that an idle bucket is followed by an
    // active one when the histogram knows no better (bursts do not inflate it as active buckets would).
    const baseRate = (starts + 0.5) / (s.length - active + 1);
    let period = 0;
    let best = 0;
    for (const [d, c] of distances) if (c > best || (c === best && d < period)) [period, best] = [d, c];
    if (best < PERIOD_MIN_REPEATS || best < PERIOD_MIN_SHARE * (starts - 1)) period = 0;
    return { baseRate, moreAfter, perActive: active === 0 ? 1 : sum / active, period };
  });
}

function compute(history: HistoryReader, start: number, ahead: number): Forecast {
  const bucketMs = history.coarseMs;
  const current = start / bucketMs;
  const { baseRate, moreAfter, perActive, period } = countsFor(history, start);
  const bins = history.idleHistogram();
  const lastClosedActive = lastActiveBefore(history, current, bins.length);

  const hazard = new Float64Array(bins.length);
  let tail = 0;
  for (let g = bins.length - 1; g >= 0; g--) {
    tail += bins[g]!;
    // Shrunk towards the base rate while few idle times back it.
    hazard[g] = (bins[g]! + PRIOR_WEIGHT * baseRate) / (tail + PRIOR_WEIGHT);
  }
  // The last bin pools every long idle time: its hazard is not per bucket.
  hazard[bins.length - 1] = baseRate;

  const recent = history.series(start - LEVEL_WINDOW * bucketMs, start, bucketMs);
  const { level, spread } = levelAndSpread(recent);

  const daily = new Float64Array(ahead + 1).fill(-1);
  const dailyCount = new Float64Array(ahead + 1);
  const perDay = DAY_MS / bucketMs;
  const first = history.firstArrivalAt;
  const days = first === undefined ? 0 : Math.min(MAX_DAYS, Math.floor((start - first) / DAY_MS));
  if (days >= 1 && Number.isInteger(perDay)) {
    for (let j = 0; j <= ahead; j++) {
      let hits = 0;
      let most = 0;
      for (let d = 1; d <= days; d++) {
        // One bucket either side: a daily job drifts by a minute or so.
        const at = current + j - d * perDay;
        const around = history.series((at - 1) * bucketMs, (at + 2) * bucketMs, bucketMs);
        let peak = 0;
        for (const v of around) peak = Math.max(peak, v);
        if (peak > 0) hits++;
        most = Math.max(most, peak);
      }
      daily[j] = hits / days;
      dailyCount[j] = most;
    }
  }
  // Sizing from the same phase of the last periods: a burst every hour is as large as the last ones.
  const phaseCount = new Float64Array(ahead + 1);
  const phaseExact = new Float64Array(ahead + 1);
  if (period > 0) {
    for (let j = 0; j <= ahead; j++) {
      for (let p = 1; p <= PHASES; p++) {
        const at = current + j - p * period;
        if (at < current)
          phaseExact[j] = Math.max(
            phaseExact[j]!,
            history.series(at * bucketMs, (at + 1) * bucketMs, bucketMs)[0]!,
          );
        // Closed buckets only: the forecast holds for the whole current bucket.
        const to = Math.min(at + 2, current) * bucketMs;
        for (const v of history.series((at - 1) * bucketMs, to, bucketMs))
          phaseCount[j] = Math.max(phaseCount[j]!, v);
      }
    }
  }
  const recurring = recurringCounts(history, current, ahead);
  return {
    hazard,
    baseRate,
    moreAfter,
    perActive,
    lastClosedActive,
    level,
    spread,
    daily,
    dailyCount,
    period,
    phaseCount,
    phaseExact,
    recurring,
  };
}

/** `Forecast.recurring` for buckets current..current+ahead (closed buckets only: periods ≥ 5 buckets). */
function recurringCounts(history: HistoryReader, current: number, ahead: number): Float64Array {
  const bucketMs = history.coarseMs;
  const out = new Float64Array(ahead + 1);
  const first = history.firstArrivalAt;
  if (first === undefined) return out;
  const firstBucket = Math.floor(first / bucketMs);
  for (const periodMs of RECUR_PERIODS_MS) {
    const repeats = recurRepeats(periodMs);
    const p = periodMs / bucketMs;
    if (!Number.isInteger(p) || p <= ahead) continue;
    for (let j = 0; j <= ahead; j++) {
      // Cycles before the history began would read as zeros: no recurrence to claim.
      if (current + j - repeats * p < firstBucket) continue;
      let fewest = Infinity;
      for (let r = 1; r <= repeats && fewest > 0; r++) {
        const at = current + j - r * p;
        fewest = Math.min(fewest, history.series(at * bucketMs, (at + 1) * bucketMs, bucketMs)[0]!);
      }
      out[j] = Math.max(out[j]!, fewest);
    }
  }
  return out;
}

/** Level (least-squares line extrapolated one bucket ahead) and spread of `s`. */
function levelAndSpread(s: Float64Array): { level: number; spread: number } {
  const n = s.length;
  if (n <= 0) return { level: 0, spread: 0 };
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const y = s[i]!;
    sx += i;
    sy += y;
    sxx += i * i;
    sxy += i * y;
    syy += y * y;
  }
  const mean = sy / n;
  const spread = Math.sqrt(Math.max(0, syy / n - mean * mean));
  const den = n * sxx - sx * sx;
  const slope = den === 0 ? 0 : (n * sxy - sx * sy) / den;
  // A trend only adds to the level (a falling one is left to the recent counts to show); the last two
  // buckets' step catches a ramp that the ten-bucket line is still catching up with.
  const last = s[n - 1]!;
  const step = n >= 2 ? last + Math.max(0, last - s[n - 2]!) : last;
  const level = Math.max(mean, mean + slope * ((n + 1) / 2), step);
  return { level, spread };
}

/** The latest active bucket before `current`, looking back at most `range` buckets (older ones: -Infinity). */
function lastActiveBefore(history: HistoryReader, current: number, range: number): number {
  const last = history.lastArrivalAt;
  if (last === undefined) return -Infinity;
  const b = Math.floor(last / history.coarseMs);
  if (b < current) return b;
  const bucketMs = history.coarseMs;
  const s = history.series((current - range) * bucketMs, current * bucketMs, bucketMs);
  for (let i = s.length - 1; i >= 0; i--) if (s[i]! > 0) return current - s.length + i;
  return -Infinity;
}

const PEAK_STEP_MS = 10_000;

/**
 * The highest concurrency sampled (requests in flight and queued) in the `windowMs` before `now`,
 * at fine grain; cached per 10 s step, so O(window / fineMs) once per step.
 */
export function recentPeak(history: HistoryReader, now: number, windowMs: number): number {
  const anchor = Math.floor(now / PEAK_STEP_MS) * PEAK_STEP_MS;
  return history.memo(`predictive:peak:${windowMs}`, anchor, PEAK_STEP_MS, () => {
    const fine = history.fineMs;
    let peak = 0;
    for (let t = Math.floor((anchor - windowMs) / fine) * fine; t < anchor; t += fine)
      peak = Math.max(peak, history.concurrency(t, t + fine));
    return peak;
  });
}
