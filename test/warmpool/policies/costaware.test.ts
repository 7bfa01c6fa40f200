import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DemandHistory,
  POLICIES,
  type PolicyConfig,
  type PoolState,
} from '../../../warmpool/policies/index.ts';
import { mulberry32 } from '../../../warmpool/sim/prng.ts';
import { MIN, T0, config, every, historyOf, pool } from './helpers.ts';

const { costaware } = POLICIES;
const cfg = config(); // 10 s cold start, 2 s ticks, 1 s buckets: a start's reach is 13 s

/** A timer every 5 minutes, 20 s into its minute, for three hours: the last at minute 175. */
function timer(): { history: DemandHistory; last: number; next: number } {
  const times = every(T0 + 20_000, 5 * MIN, 36);
  const last = times.at(-1)!;
  return { history: historyOf(times, last + 1000), last, next: last + 5 * MIN };
}

function decide(history: DemandHistory, now: number, p: PoolState = pool(), c: PolicyConfig = cfg) {
  history.advance(now);
  return costaware.decide({ config: c, history, pool: p, now });
}

const held = pool({ instances: 1, ready: 1 });
const withCost = (coldStartCost: number, o: Partial<PolicyConfig> = {}) =>
  config({ ...o, knobs: { coldStartCost } });

describe('costaware policy', () => {
  it('starts an instance a start, a tick and a bucket before a timer is due, and none between', () => {
    const { history, last, next } = timer();
    assert.equal(decide(history, last + 2000, held).desired, 0, 'released once the call came');
    assert.equal(decide(history, last + 2 * MIN).desired, 0, 'nothing between calls');
    assert.equal(decide(history, next - 14_000).desired, 0, 'a tick earlier than needed: not yet');
    const start = decide(history, next - 13_000);
    assert.equal(start.desired, 1, 'started when a start made now is ready by the call');
    assert.match(start.reason, /p 0\.\d+ × 1\.0 requests ≥/);
    // Held through until the call comes, then let go: the next is 5 minutes away.
    assert.equal(decide(history, next - 1000, held).desired, 1);
    history.add(next);
    assert.equal(decide(history, next + 2000, held).desired, 0);
  });

  it('one knob moves it: a cheap cold start is not worth even the seconds before the call', () => {
    const { history, next } = timer();
    // Between calls a dear one is not worth it (no gap ever ended there); a very dear one still is,
    // for what the prior leaves possible.
    assert.equal(decide(history, next - 2 * MIN, held, withCost(300)).desired, 0);
    assert.equal(decide(history, next - 2 * MIN, held, withCost(30_000)).desired, 1);
    assert.equal(decide(history, next - 13_000, pool(), withCost(0.5)).desired, 0);
    assert.equal(decide(history, next - 13_000, pool(), withCost(5)).desired, 1);
    // Irregular calls (exponential gaps, 5 minutes on average): the dear one holds, the cheap one not.
    const rand = mulberry32(3);
    const times = [T0];
    for (let i = 0; i < 60; i++) times.push(times.at(-1)! + Math.round(-Math.log(1 - rand()) * 5 * MIN));
    const irregular = historyOf(times, times.at(-1)! + 1000);
    const now = times.at(-1)! + 2 * MIN;
    assert.equal(decide(irregular, now, held, withCost(3)).desired, 0);
    assert.equal(decide(irregular, now, held, withCost(3000)).desired, 1);
  });

  it('with no gaps seen yet, keeps an instance about as long as a cold start is worth (ski rental)', () => {
    // One call ever: the prior is one call per idle time so far, so an instance is worth keeping while
    // the idle time is below the cost (times the requests a cold start catches: 1 here).
    const history = historyOf([T0], T0 + 1000);
    assert.equal(decide(history, T0 + 30_000, held, withCost(60)).desired, 1);
    assert.equal(decide(history, T0 + 90_000, held, withCost(60)).desired, 0);
    assert.equal(decide(history, T0 + 240_000, held, withCost(300)).desired, 1);
    assert.equal(decide(history, T0 + 400_000, held, withCost(300)).desired, 0);
  });

  it('trusts a pattern over the prior once it has seen it: a quiet spell after a steady timer', () => {
    // Every minute for an hour, then silence: by three minutes of silence the gaps say it stopped.
    const times = every(T0, MIN, 60);
    const history = historyOf(times, times.at(-1)! + 1000);
    const after = times.at(-1)!;
    assert.equal(decide(history, after + MIN - 13_000).desired, 1, 'due again a minute after');
    assert.equal(decide(history, after + 3 * MIN, held).desired, 0, 'no gap ever ran this long');
  });

  it('sizes a steady stream from its rate and service time, with more headroom at a higher cost', () => {
    // 2 a second at 4 s each: 8 in flight on average, one request per instance.
    const history = new DemandHistory();
    const c = (cost: number) => withCost(cost, { serviceMs: 4000 });
    const times = every(T0, 500, 1200);
    for (const t of times) history.add(t);
    const now = times.at(-1)! + 500;
    const p = pool({ instances: 8, ready: 8, inFlight: 8 });
    const cheap = decide(history, now, p, c(1)).desired;
    const dear = decide(history, now, p, c(1000)).desired;
    assert.ok(cheap >= 8, `at least what runs now: ${cheap}`);
    assert.ok(dear > cheap + 2, `more headroom for a dearer cold start: ${cheap} → ${dear}`);
    assert.match(decide(history, now, p, c(1000)).reason, /for ~\d+\.\d in flight a start from now/);
  });

  it("reads a new deployment's rate over the seconds it has seen, not over a window reaching back before them", () => {
    // 2 a second at 4 s each, for ten minutes or for the deployment's first 4 s: the same rate and the
    // same 8 in flight, so the same demand a start from now. Over a 10 s window the new one read as 0.8
    // a second, and its first burst came up an instance a cold start at a time.
    const c = withCost(100, { serviceMs: 4000 });
    const p = pool({ instances: 8, ready: 8, inFlight: 8 });
    const ahead = (times: number[]) => {
      const now = times.at(-1)! + 500;
      const reason = decide(historyOf(times, now), now, p, c).reason;
      return Number(/for ~(\d+\.\d) in flight a start from now/.exec(reason)?.[1]);
    };
    const steady = ahead(every(T0, 500, 1200));
    const fresh = ahead(every(T0, 500, 8));
    assert.ok(steady >= 7.5, `steady: ${steady}`);
    assert.ok(Math.abs(fresh - steady) <= 0.15 * steady, `new deployment ${fresh} against steady ${steady}`);
  });

  it('gives bursty arrivals more headroom than a steady stream of the same rate', () => {
    // Same 2 a second over ten minutes: steady, or 120 at once every minute.
    const c = withCost(100, { serviceMs: 4000 });
    const steady = historyOf(every(T0, 500, 1200), T0 + 600_000);
    const bursts = Array.from({ length: 10 }, (_, i) => every(T0 + i * MIN, 10, 120)).flat();
    const bursty = historyOf(bursts, T0 + 600_000);
    const p = pool({ instances: 8, ready: 8, inFlight: 8 });
    const a = decide(steady, T0 + 600_000, p, c).desired;
    const b = decide(bursty, T0 + 600_000, p, c).desired;
    assert.ok(b > a, `bursty ${b} > steady ${a}`);
  });

  it("readies a level's instances before a periodic burst that needs them, from that level's gaps", () => {
    // 24 requests in a second every 20 s, each served in 1 s: 3 instances of 8; 2 s cold starts,
    // 1 s ticks; the controller samples concurrency every tick, as the live one does.
    const c = withCost(0.5, { coldStartMs: 2000, tickMs: 1000, capacityPerInstance: 8, serviceMs: 1000 });
    const history = new DemandHistory();
    const start = T0 + 3000;
    const burstAt = (k: number) => start + k * 20_000;
    for (let t = T0; t < burstAt(5) - 6000; t += 1000) {
      const k = Math.floor((t - start) / 20_000);
      const inBurst = t >= start && t - burstAt(k) < 1000;
      if (inBurst) for (const a of every(t, 1000 / 24, 24)) history.add(a);
      history.observeConcurrency(t, inBurst || (t >= start && t - burstAt(k) < 2000) ? 24 : 0);
    }
    const fifth = burstAt(5);
    assert.equal(decide(history, fifth - 6000, pool(), c).desired, 0, 'nothing between bursts');
    const d = decide(history, fifth - 3000, pool(), c);
    assert.equal(d.desired, 3, `all three a start and a tick ahead: ${d.reason}`);
  });

  it('is a pure function of its input: a new cache decides as one that followed all along', () => {
    const a = timer();
    const b = timer();
    const t1 = a.next - 3 * MIN;
    const t2 = a.next - 12_000;
    for (const name of ['reactive', 'keepalive', 'histogram', 'predictive', 'costaware'] as const) {
      a.history.advance(t1);
      const input = { config: cfg, history: a.history, pool: pool(), now: t1 };
      assert.deepEqual(POLICIES[name].decide(input), POLICIES[name].decide(input), name);
    }
    const warm = decide(a.history, t2);
    const cold = decide(b.history, t2);
    assert.deepEqual(warm, cold);
    assert.equal(a.history.totalArrivals, b.history.totalArrivals);
  });

  it('serves what is in flight and stays within the configured bounds', () => {
    const history = new DemandHistory();
    assert.equal(decide(history, T0, pool({ inFlight: 2, queued: 1 })).desired, 3);
    const { history: h, next } = timer();
    const bounded = config({ minInstances: 2, maxInstances: 3 });
    assert.equal(decide(h, next - 2 * MIN, pool(), bounded).desired, 2);
    assert.equal(decide(h, next - 2 * MIN, pool({ queued: 9 }), bounded).desired, 3);
  });
});
