import type { Policy, PolicyInput } from './types.ts';
import { clampInstances, instancesFor } from './capacity.ts';
import { forecastFor, recentPeak, type Forecast } from './demand-forecast.ts';
import { reactiveDecision } from './reactive.ts';
import { shortPeriodFor, type ShortPeriod } from './short-period.ts';

const DEFAULTS = {
  /**
   * Cold-started requests that holding one instance for a minute must avoid, in expectation (swept):
   * P(arrivals within reach) × the requests that a cold start would catch ≥ threshold × minutes held.
   */
  threshold: 0.1,
  /**
   * Forecast quantile, in standard deviations above the mean, that capacity is sized for. High (3):
   * minute counts and service times are heavy-tailed, and on the Azure 2019 trace the cold starts a
   * burst makes cost more than the headroom's idle instance-seconds (measured: z 2 to 3 and threshold
   * 0.2 to 0.1 together trade 9 k cold starts for 6 M idle instance-seconds).
   */
  z: 3,
  /** After an arrival the forecast did not expect, the reactive policy's grace applies. */
  missGraceMs: 0,
  /**
   * While held, capacity stays at the peak concurrency of this window (scale-down lags by it).
   * Measured on the Azure 2019 trace (with `recurringP`, before the burst rate and the ramp):
   * 180 s → 34.5 k cold starts, 34.8 M idle instance-s; 120 s → 34.5 k, 34.3 M; 60 s → 35.3 k, 33.9 M.
   */
  peakWindowMs: 120_000,
  /**
   * Probability that a minute is active when arrivals came in the same minute of each of the last
   * cycles of a clock period (`Forecast.recurring`: cron jobs every 5 to 60 minutes); the hazard
   * alone dilutes such a timer among the deployment's other idle times. 0 turns it off (measured:
   * 0.5 and 0.9 hold the same minutes; 35.3 k → 34.5 k cold starts for +0.12 M idle instance-s).
   */
  recurringP: 0.5,
} as const;

/**
 * Predictive scaling: keep ready, ahead of time, the capacity that the demand forecast for the next
 * cold-start horizon [now, now + coldStartMs + tickMs] calls for, and nothing when it forecasts no
 * arrival that a later start could not serve as well.
 * - Whether a minute (coarse bucket) sees arrivals comes from the idle-time hazard (periodic timers
 *   whatever their phase, bursts that run for several minutes) and, past a day of history, from the
 *   same time on earlier days (daily cycles), and from arrivals that came in the same minute of each
 *   of the last cycles of a clock period (cron jobs, `recurringP`). Within a minute arrivals are
 *   taken as uniform, so an expected minute is held from a cold start before it begins until its
 *   expected arrivals came.
 * - Short periods (5 s to 10 min, from the fine history of the last 45 minutes; short-period.ts):
 *   capacity for a burst from a start and a tick (plus the onset jitter) before each predicted one,
 *   none in between when the gap is long against a start; the minute-grain logic below otherwise.
 * - How many: the recent per-minute level plus trend, the same time on earlier days, the same
 *   phase of a detected period of run starts, or what recurred in that minute of the last cycles of
 *   a clock period (a job every half hour on top of a steady stream), at the forecast quantile `z`;
 *   or this minute's pace, the last 10 s's and the last 2 s's rate (a burst's onset), the rise from
 *   the one to the other carried on to when a start made now is ready (a surge), and near the
 *   minute's end its rise over the last minute taken once more (a ramp),
 *   turned into the concurrency expected when a start now is ready (what runs now and is still
 *   running then, plus what arrives until then), with Poisson headroom on the arrivals, and never
 *   below the peak of `peakWindowMs` (but where a period says what comes: its quiet phase lets
 *   capacity go).
 * - When: an instance is started or kept while the cold-started requests it would avoid (probability
 *   × the requests that a minute's cold start catches, at the same phase where a period is known)
 *   outweigh `threshold` per minute it is held.
 *   Holding on to the end of a minute costs little when the next minute is expected anyway.
 * - A miss (arrivals in a minute the forecast did not expect) falls back to the reactive policy; the
 *   requests in flight and queued are always served.
 * Knobs: threshold (swept: lower holds more, fewer cold starts, more idle), z, missGraceMs,
 * peakWindowMs, recurringP.
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
    const sp = shortPeriodFor(history, now);
    const burst = sp === undefined ? undefined : burstHold(sp, now, reach, history.fineMs);
    if (sp !== undefined && burst !== undefined) {
      // Bursts every few seconds to minutes: ready a start's reach before each, nothing in between.
      const conc = sp.burstArrivals * Math.min(1, config.serviceMs / sp.burstMs);
      const want = burst.hold ? Math.max(demandNow, 1, instancesFor(conc, config)) : demandNow;
      const desired = clampInstances(want, config);
      const state = burst.hold ? 'holding' : 'released';
      return {
        desired,
        reason: `predictive ${state}: bursts of ~${sp.burstArrivals} every ${+(sp.periodMs / 1000).toFixed(1)} s, next at +${((burst.next - now) / 1000).toFixed(1)} s; ${desired}`,
      };
    }
    const ahead = Math.ceil(reach / bucketMs) + 1;
    const f = forecastFor(history, now, ahead);
    const start = Math.floor(now / bucketMs) * bucketMs;
    const current = start / bucketMs;
    const seen = history.series(start, start + 1, bucketMs)[0]!;
    const elapsed = (now - start) / bucketMs;

    // This minute: how likely it was to be active, and that arrivals are still to come in it.
    const gapBefore = current - 1 - f.lastClosedActive;
    const recurP = (j: number) => ((f.recurring[j] ?? 0) >= 1 ? k.recurringP : -1);
    const pThis = Math.max(hazard(f, gapBefore), f.daily[0]!, recurP(0));
    const pRest = seen > 0 ? moreToCome(f, seen, elapsed) : stillToCome(pThis, elapsed);
    // A missed minute cold-starts its first arrival and those that come while the instance starts.
    // With a period, the same phase of the last periods says how many come (a quiet phase: few).
    const stakeOf = (count: number) => 1 + (count * Math.min(config.coldStartMs, bucketMs)) / bucketMs;
    const atStake = stakeOf(f.period > 0 ? f.phaseExact[0]! : Math.max(f.perActive, f.level));
    const gapNext = current - f.lastClosedActive;
    const pNext = Math.max(
      seen > 0 ? hazard(f, 0) : pRest * hazard(f, 0) + (1 - pRest) * hazard(f, gapNext),
      f.daily[1] ?? -1,
      recurP(1),
    );
    // Later minutes that a start now would be ready for (and a start at the next tick would not).
    let pNoneLater = 1;
    let lookedAhead = 0;
    for (let j = 1; (current + j) * bucketMs <= now + reach; j++) {
      const pj =
        j === 1
          ? pNext
          : Math.max(hazard(f, seen > 0 ? j - 1 : gapNext + j - 1), f.daily[j] ?? -1, recurP(j));
      pNoneLater *= 1 - pj;
      lookedAhead = j;
    }
    const pLater = 1 - pNoneLater;
    // Holding on through this minute costs its rest, or only the time until the next minute's start
    // would begin when that minute is expected anyway; the threshold is per minute held.
    const nextStart = start + bucketMs;
    const holdMs = pNext * atStake >= k.threshold ? Math.max(0, nextStart - reach - now) : nextStart - now;
    const laterStake = f.period > 0 ? stakeOf(maxOf(f.phaseExact, lookedAhead, 1)) : atStake;
    const hold = pRest * atStake > (k.threshold * holdMs) / bucketMs || pLater * laterStake >= k.threshold;

    let want = demandNow;
    let why: string;
    if (hold) {
      // This minute's pace so far, and the last seconds' rate, lead the concurrency they will cause
      // by a service time; the same phase of a detected period sizes a burst before it starts.
      // The arrivals since the last tick or so see a burst's onset first: a start made then is ready
      // ten seconds sooner than one the 10 s rate waits for.
      const burst = history.arrivals(now - BURST_WINDOW_MS, now);
      const recent = (history.arrivals(now - RATE_WINDOW_MS, now) * bucketMs) / RATE_WINDOW_MS;
      const onset = burst >= BURST_MIN_ARRIVALS ? (burst * bucketMs) / BURST_WINDOW_MS : 0;
      const pace = Math.max(
        seen / Math.max(elapsed, 0.25),
        recent,
        onset,
        burst >= SURGE_MIN_ARRIVALS ? surgeRate(recent, onset, reach) : 0,
      );
      // Within a start's reach of the next minute, a minute that rose over the last one is taken to
      // rise by as much again (the level's last step, see demand-forecast.ts, a minute sooner).
      const lastMinute = history.series(start - bucketMs, start, bucketMs)[0]!;
      const rate = seen / Math.max(elapsed, 0.25);
      const ramp = lookedAhead >= 1 && seen > 0 ? rate + Math.max(0, rate - lastMinute) : 0;
      const perMinute = Math.max(
        f.level + k.z * f.spread,
        maxOf(f.dailyCount, lookedAhead),
        maxOf(f.phaseCount, lookedAhead),
        maxOf(f.recurring, lookedAhead),
        pace,
        ramp,
      );
      const { running, arriving } = concurrencyWithin(
        perMinute / (bucketMs / 1000),
        pool.inFlight + pool.queued,
        reach,
        config,
      );
      // Headroom for what may arrive; what runs now is known.
      const conc = running + arriving + k.z * Math.sqrt(arriving);
      // While held, capacity does not drop below the recent peak: service times vary far more
      // than a Poisson count does, and a slot given back now is a cold start at the next peak.
      // Where a period sizes what comes, its quiet phase lets the peak go.
      const peak = f.period > 0 ? 0 : recentPeak(history, now, k.peakWindowMs);
      want = Math.max(want, 1, instancesFor(Math.max(conc, peak), config));
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

/**
 * Whether a short period's next burst is within a start's reach (less the onset jitter, at least a fine
 * bucket) or the latest one may still be going on. Undefined where releasing between bursts does not
 * pay (the gap is short against a start) or a burst is over a period late (the pattern broke): the
 * minute-grain forecast decides then.
 */
function burstHold(
  sp: ShortPeriod,
  now: number,
  reach: number,
  fineMs: number,
): { hold: boolean; next: number } | undefined {
  const guard = Math.max(sp.jitterMs, fineMs);
  if (sp.periodMs - sp.burstMs <= reach + 2 * guard) return undefined;
  if (now < sp.lastOnsetMs + sp.burstMs + guard) return { hold: true, next: sp.lastOnsetMs };
  let next = sp.lastOnsetMs + sp.periodMs;
  if (now >= next + sp.burstMs + guard) next += sp.periodMs; // a late burst: waited for a period
  if (now >= next + sp.burstMs + guard) return undefined;
  return { hold: now >= next - reach - guard, next };
}

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

/** In-flight requests' mean residual life, in mean service times (heavy tails: well above 1). */
const RESIDUAL_FACTOR = 4;
/** The last seconds' arrival rate also sizes a held minute. */
const RATE_WINDOW_MS = 10_000;
/**
 * And the last tick's (the simulator's 2 s), once it holds a few arrivals: on the Azure 2019 trace it
 * catches the onset of bursts (29.6 k cold starts against 34.5 k with the 10 s rate alone, 4 s 30.9 k,
 * for the same idle time).
 */
const BURST_WINDOW_MS = 2000;
const BURST_MIN_ARRIVALS = 2;
/**
 * A surge: the last tick's rate above the last 10 s's, on enough arrivals that the difference is not
 * noise (a Poisson count of 20 is ±22%). On the Azure 2019 trace most cold starts left on busy functions
 * come while a one-off surge builds (e.g. 420 → 2,723 → 4,042 a minute, 93 s service times): every
 * start sized for the rate it sees is ready for a rate already passed.
 */
const SURGE_MIN_ARRIVALS = 20;

/**
 * The arrival rate a start made now meets when it is ready: the slope between the 10 s and the 2 s rates
 * (their windows' middles are 4 s apart) carried on to `reachMs` from now. Measured on the Azure 2019
 * trace against the same code without it: 27,229 → 26,160 cold starts for +0.02 M idle instance-s; half
 * that slope gives 26,453 (the rate at the horizon's middle), and 1.5× it no fewer.
 */
function surgeRate(rate: number, onset: number, reachMs: number): number {
  if (onset <= rate) return 0;
  const apart = (RATE_WINDOW_MS - BURST_WINDOW_MS) / 2;
  return onset + ((onset - rate) * (reachMs + BURST_WINDOW_MS / 2)) / apart;
}

/**
 * Requests in flight `reachMs` from now, when capacity started now comes up: those in flight now that
 * are still running, plus the arrivals until then that are (Little's law over the horizon, with
 * exponential service times). For service times far beyond the horizon this is what is running plus
 * what comes in the horizon, not rate × mean service time: a minute's rate hardly moves it.
 */
function concurrencyWithin(
  ratePerSecond: number,
  inFlight: number,
  reachMs: number,
  config: { readonly serviceMs: number },
): { running: number; arriving: number } {
  const s = config.serviceMs;
  // Requests already running have a long residual life under heavy-tailed service times.
  const stay = Math.exp(-reachMs / (RESIDUAL_FACTOR * s));
  return {
    running: inFlight * stay,
    arriving: (ratePerSecond * s * (1 - Math.exp(-reachMs / s))) / 1000,
  };
}

function maxOf(a: Float64Array, upTo: number, from = 0): number {
  let m = 0;
  for (let j = from; j <= upTo && j < a.length; j++) m = Math.max(m, a[j]!);
  return m;
}
