import type { Policy, PolicyInput } from './types.ts';
import type { HistoryReader } from './demand-history.ts';
import { ActivityGaps } from './activity-gaps.ts';
import { clampInstances, instancesFor } from './capacity.ts';
import { demandAhead } from './demand-ahead.ts';
import type { GapSample } from './gap-sample.ts';

const DEFAULTS = {
  /**
   * What one cold-started request costs, in instance-seconds of idle capacity (swept). The policy keeps
   * an instance wherever the cold starts it avoids are worth more than the time it stands idle: high
   * holds more and cold-starts less. A deployment sets it as `scaling.coldStartCost`.
   */
  coldStartCost: 60,
} as const;

/**
 * Cost-aware predictive scaling: each instance is kept (or started ahead of time) exactly while the
 * cold starts it is expected to avoid outweigh its idle time, at the deployment's stated price of a cold
 * start. One knob, `coldStartCost`, moves it along the whole trade-off; nothing in it is fitted to a
 * trace: every rate and shape is the deployment's own past, read online.
 *
 * - The window that matters is a start's reach (cold start + a tick): an instance released now, or not
 *   started now, cannot be ready sooner than that. An instance that exists is worth keeping through it
 *   when the requests it would spare a cold start (the probability the deployment is called in it × the
 *   requests a cold start catches) × the cost ≥ the ms it is expected to stand idle in it; one that does
 *   not exist is started when the same holds for the part of the window it can be ready for (after its
 *   cold start), so it comes up just in time for a timer and not a tick later.
 * - The first instance: that probability and that idle time come from the deployment's own past idle gaps
 *   at the idle time running now (gap-sample.ts: a timer's period, a burst's rhythm, a quiet spell),
 *   the recent ones at a 1 s resolution, longer ones from the minute history.
 * - Each further instance k: the same rule on level k's own gaps (times when k instances' worth of
 *   requests were in flight), or the probability that the demand a start's reach from now needs k
 *   instances (demand-ahead.ts: what runs now and is still running then, plus what arrives until then,
 *   with the overdispersion the deployment's own arrivals show).
 * - A further instance still starting is priced by what cancelling it costs: it stands idle at most a
 *   tick once ready (the next tick can release it), and a cancelled one that is needed after all is a
 *   whole cold start, so it is kept while the cold starts it may spare are worth a tick of idle time.
 * - Requests in flight and queued are always served.
 */
export const costaware: Policy = {
  name: 'costaware',
  knob: {
    name: 'coldStartCost',
    values: [0.1, 0.3, 1, 2, 3, 5, 10, 20, 30, 60, 100, 300, 1000, 3000, 10_000, 30_000],
  },
  decide(input: PolicyInput) {
    const { config, history, pool, now } = input;
    const costMs = (config.knobs?.coldStartCost ?? DEFAULTS.coldStartCost) * 1000;
    const demandNow = instancesFor(pool.inFlight + pool.queued, config);
    const last = history.lastArrivalAt;
    if (last === undefined) {
      const desired = clampInstances(demandNow, config);
      return { desired, reason: `costaware: no arrivals yet; ${desired} for requests now` };
    }
    const gaps = gapsOf(history, config.capacityPerInstance);
    const cold = config.coldStartMs;
    const reach = cold + config.tickMs;
    // Gaps run from bucket start to bucket start. What the history vouches for: no active bucket after
    // the last one until it closes (it may run a settle delay behind `now`). The window ahead is placed
    // from `now`, a bucket wider on each side: where in its bucket an arrival falls, and a real cold
    // start running past its median.
    const fine = history.fineMs;
    const odds = (sample: GapSample, bucket: number, from: number, to: number) => {
      const age = Math.max(0, history.closedBefore - bucket - fine / 2);
      const base = now - bucket - age;
      return sample.window(age, Math.max(0, base + from - fine), base + to + fine);
    };
    const lastBucket = Math.floor(last / fine) * fine;
    const idle = Math.max(0, now - lastBucket);

    // The first instance, from the deployment's idle gaps (not asked while requests are in flight).
    let want = demandNow;
    let why = `${demandNow} for requests now`;
    if (demandNow === 0) {
      const from = pool.instances >= 1 ? 0 : cold;
      const w = odds(sampleFor(gaps, history, idle), lastBucket, from, reach);
      // A cold start catches the arrivals of its activation that come before it is ready.
      const caught = Math.min(gaps.perActivation, 1 + gaps.activeRate * cold);
      const first = costMs * w.p * caught >= w.idleMs;
      want = first ? 1 : 0;
      why = `p ${w.p.toFixed(3)} × ${caught.toFixed(1)} requests ${first ? '≥' : '<'} ${(w.idleMs / 1000).toFixed(1)} s idle`;
    }

    // Further instances: each level's own gaps, and the demand a start's reach ahead.
    const ahead = demandAhead(history, pool, config, reach, now);
    // A further instance's cold start catches what overflows onto it while it starts: the arrivals
    // while active (a burst's own rate, not the average), up to its slots.
    const perLevel = Math.min(config.capacityPerInstance, 1 + gaps.activeRate * cold);
    let k = Math.max(2, want + 1);
    for (; k <= config.maxInstances; k++) {
      const from = pool.instances >= k ? 0 : cold;
      let worth = false;
      const level = k - 2 < gaps.levels ? gaps.level(k) : undefined;
      if (level !== undefined) {
        const l = odds(level.sample, level.lastNeeded, from, reach);
        worth = costMs * l.p * perLevel >= l.idleMs;
      }
      const p = ahead.pAtLeast((k - 1) * config.capacityPerInstance + 1);
      // An instance still starting costs no idle until it is ready, and at most a tick then (the next
      // tick can release it); cancelling it costs its whole cold start if it is needed after all.
      const exposed = pool.instances >= k && pool.ready < k ? config.tickMs : reach - from;
      worth ||= costMs * p * perLevel >= (1 - p) * exposed;
      if (!worth) break;
    }
    if (k - 1 > want && k - 1 >= 2) {
      want = k - 1;
      why += `; ${want} for ~${ahead.mean.toFixed(1)} in flight a start from now`;
    }
    const desired = clampInstances(want, config);
    return { desired, reason: `costaware (cold start worth ${costMs / 1000} s): ${why}; ${desired}` };
  },
};

/**
 * The gaps that say most at this idle time: the recent ones (1 s resolution) while enough of them lasted
 * this long, else the minute history's where more of those did.
 */
function sampleFor(gaps: ActivityGaps, history: HistoryReader, idle: number): GapSample {
  const recent = gaps.recent();
  const atRisk = recent.atRisk(idle);
  if (atRisk >= ENOUGH_GAPS) return recent;
  const long = gaps.long(history);
  return long.atRisk(idle) > atRisk ? long : recent;
}

/** Recent gaps at least this long say enough about an idle time (the prior weighs 2). */
const ENOUGH_GAPS = 8;

/** The deployment's gaps, brought up to date (kept in its history's memo, per capacity). */
function gapsOf(history: HistoryReader, perInstance: number): ActivityGaps {
  const box = history.memo(
    `costaware:gaps:${perInstance}`,
    0,
    Infinity,
    () => new ActivityGaps(perInstance, history.fineMs),
  );
  return box.update(history);
}
