import type { Policy, PolicyInput } from './types.ts';
import { clampInstances, concurrencyOf, instancesFor } from './capacity.ts';
import { forecastFor, recentPeak, type Forecast } from './demand-forecast.ts';
import { reactiveDecision } from './reactive.ts';

const DEFAULTS = {
  /**
   * Cold-started requests that holding one instance for a minute must avoid, in expectation (swept):
   * P(arrivals within reach) × the requests that a cold start would catch ≥ threshold × minutes held.
   */
  threshold: 0.2,
  /** Forecast quantile, in standard deviations above the mean, that capacity is sized for. */
  z: 1.28,
  /** After an arrival the forecast did not expect, the reactive policy's grace applies. */
  missGraceMs: 0,
  /** While held, capacity stays at the peak concurrency of this window. */
  peakWindowMs: 60_000,
} as const;

/**
 * Predictive scaling: keep ready, ahead of time, the capacity that the demand forecast for the next
 * cold-start horizon [now, now + coldStartMs + tickMs] calls for, and nothing when it forecasts no
 * arrival that a later start could not serve as well.
 * - Whether a minute (coarse bucket) sees arrivals comes from the idle-time hazard (periodic timers
 *   whatever their phase, bursts that run for several minutes) and, past a day of history, from the
 *   same time on earlier days (daily cycles). Within a minute arrivals are taken as uniform, so an
 *   expected minute is held from a cold start before it begins until its expected arrivals came.
 * - How many: the recent per-minute level plus trend, or the same time on earlier days, at the
 *   forecast quantile `z`, turned into concurrency (rate × serviceMs) with Poisson headroom.
 * - When: an instance is started or kept while the cold-started requests it would avoid (probability
 *   × the requests that a minute's cold start catches) outweigh `threshold` per minute it is held.
 *   Holding on to the end of a minute costs little when the next minute is expected anyway.
 * - A miss (arrivals in a minute the forecast did not expect) falls back to the reactive policy; the
 *   requests in flight and queued are always served.
 * Knobs: threshold (swept: lower holds more, fewer cold starts, more idle), z, missGraceMs, peakWindowMs.
 */
export const predictive: Policy = {
  name: 'predictive',
  knob: { name: 'threshold', values: [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7] },
  decide(input: PolicyInput) {
    const { config, history, pool, now } = input;
    const k = { ...DEFAULTS, ...config.knobs };
    const demandNow = instancesFor(pool.inFlight + pool.queued, config);
    const last = history.lastArrivalAt;
    if (last === undefined) {
      const desired = clampInstances(demandNow, config);
      return { desired, reason: `predictive: no arrivals yet; ${desired} for requests now` };
    }
    const bucketMs = history.coarseMs;
    const reach = config.coldStartMs + config.tickMs;
    const ahead = Math.ceil(reach / bucketMs) + 1;
    const f = forecastFor(history, now, ahead);
    const start = Math.floor(now / bucketMs) * bucketMs;
    const current = start / bucketMs;
    const seen = history.series(start, start + 1, bucketMs)[0]!;
    const elapsed = (now - start) / bucketMs;

    // This minute: how likely it was to be active, and that arrivals are still to come in it.
    const gapBefore = current - 1 - f.lastClosedActive;
    const pThis = Math.max(hazard(f, gapBefore), f.daily[0]!);
    const pRest = seen > 0 ? moreToCome(f, seen, elapsed) : stillToCome(pThis, elapsed);
    // A missed minute cold-starts its first arrival and those that come while the instance starts.
    const atStake = 1 + (Math.max(f.perActive, f.level) * Math.min(config.coldStartMs, bucketMs)) / bucketMs;
    const gapNext = current - f.lastClosedActive;
    const pNext = Math.max(
      seen > 0 ? hazard(f, 0) : pRest * hazard(f, 0) + (1 - pRest) * hazard(f, gapNext),
      f.daily[1] ?? -1,
    );
    // Later minutes that a start now would be ready for (and a start at the next tick would not).
    let pNoneLater = 1;
    let lookedAhead = 0;
    for (let j = 1; (current + j) * bucketMs <= now + reach; j++) {
      const pj = j === 1 ? pNext : Math.max(hazard(f, seen > 0 ? j - 1 : gapNext + j - 1), f.daily[j] ?? -1);
      pNoneLater *= 1 - pj;
      lookedAhead = j;
    }
    const pLater = 1 - pNoneLater;
    // Holding on through this minute costs its rest, or only the time until the next minute's start
    // would begin when that minute is expected anyway; the threshold is per minute held.
    const nextStart = start + bucketMs;
    const holdMs = pNext * atStake >= k.threshold ? Math.max(0, nextStart - reach - now) : nextStart - now;
    const hold = pRest * atStake > (k.threshold * holdMs) / bucketMs || pLater * atStake >= k.threshold;

    let want = demandNow;
    let why: string;
    if (hold) {
      // This minute's pace so far leads the concurrency it will cause by a service time.
      const pace = seen / Math.max(elapsed, 0.25);
      const perMinute = Math.max(f.level + k.z * f.spread, maxOf(f.dailyCount, lookedAhead), pace);
      const conc = concurrencyOf(perMinute / (bucketMs / 1000), config);
      // While held, capacity does not drop below the last minute's peak: service times vary far more
      // than a Poisson count does, and a slot given back now is a cold start at the next peak.
      const peak = recentPeak(history, now, k.peakWindowMs);
      want = Math.max(want, 1, instancesFor(Math.max(conc + k.z * Math.sqrt(conc), peak), config));
      why = `holding: p(rest of minute) ${pRest.toFixed(2)}, p(next ${lookedAhead} min) ${pLater.toFixed(2)} × ${atStake.toFixed(1)} requests ≥ ${k.threshold}; ~${perMinute.toFixed(1)}/min`;
    } else {
      why = `released: p(rest of minute) ${pRest.toFixed(2)}, p(next ${lookedAhead} min) ${pLater.toFixed(2)} × ${atStake.toFixed(1)} requests < ${k.threshold}`;
    }
    const miss = seen > 0 && pThis * atStake < k.threshold;
    if (miss) {
      const r = reactiveDecision(input, k.missGraceMs);
      want = Math.max(want, r.desired);
      why += `; miss (p ${pThis.toFixed(2)}), reactive: ${r.desired}`;
    }
    const desired = clampInstances(want, config);
    return { desired, reason: `predictive ${why}; ${desired}` };
  },
};

/** Hazard of the bucket after `gap` empty ones (the base rate beyond the histogram or with no history). */
function hazard(f: Forecast, gap: number): number {
  if (!Number.isFinite(gap) || gap < 0 || gap >= f.hazard.length - 1) return f.baseRate;
  return f.hazard[gap]!;
}

/** P(an arrival still comes in this minute) when none came in its first `elapsed` fraction. */
function stillToCome(pActive: number, elapsed: number): number {
  const a = pActive * (1 - elapsed);
  return a / (a + 1 - pActive);
}

/** P(more arrivals come in this minute) after `seen` in its first `elapsed` fraction (uniform placement). */
function moreToCome(f: Forecast, seen: number, elapsed: number): number {
  const q = f.moreAfter[Math.min(seen, f.moreAfter.length - 1)]!;
  if (q >= 1) return 1;
  const odds = (q / (1 - q)) * (seen + 1) * (1 - elapsed);
  return odds / (1 + odds);
}

function maxOf(a: Float64Array, upTo: number): number {
  let m = 0;
  for (let j = 0; j <= upTo && j < a.length; j++) m = Math.max(m, a[j]!);
  return m;
}
