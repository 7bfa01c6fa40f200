import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemandHistory, POLICIES, type PoolState } from '../../../warmpool/policies/index.ts';
import { DAY, MIN, T0, config, every, historyOf, pool } from './helpers.ts';

const { predictive, reactive } = POLICIES;
const cfg = config(); // 10 s cold start, 2 s ticks

/** A timer every 5 minutes, 20 s into its minute, for three hours: the last at minute 175. */
function timer(): { history: DemandHistory; last: number } {
  const times = every(T0 + 20_000, 5 * MIN, 36);
  return { history: historyOf(times, times.at(-1)! + 1000), last: times.at(-1)! };
}

function decide(history: DemandHistory, now: number, p: PoolState = pool()) {
  history.advance(now);
  return predictive.decide({ config: cfg, history, pool: p, now });
}

describe('predictive policy', () => {
  it('has an instance ready for the next minute of a 5-minute timer and none between', () => {
    const { history, last } = timer();
    const next = T0 + 180 * MIN; // the minute the next arrival falls in
    assert.equal(decide(history, last + 2000).desired, 0, 'released once the minute’s one arrival came');
    assert.equal(decide(history, T0 + 177 * MIN).desired, 0, 'nothing between arrivals');
    // The last tick from which a start is ready when the minute begins: now + 10 s + 2 s.
    assert.equal(decide(history, next - 14_000).desired, 0);
    const ahead = decide(history, next - 12_000);
    assert.equal(ahead.desired, 1);
    assert.match(ahead.reason, /holding/);
    // Held through the minute until its arrival comes ...
    assert.equal(decide(history, next + 15_000).desired, 1);
    history.add(next + 20_000);
    // ... and released after it, the next one being 5 minutes away.
    assert.equal(decide(history, next + 22_000).desired, 0);
    assert.equal(decide(history, next + 2 * MIN).desired, 0);
  });

  it('scales up ahead of a burst that came at the same time on earlier days', () => {
    const history = new DemandHistory();
    const burst = (day: number) => every(T0 + day * DAY + 9 * 60 * MIN, 100, 6000); // 10/s for 10 minutes
    for (const t of [...burst(0), ...burst(1)]) history.add(t);
    const nine = T0 + 2 * DAY + 9 * 60 * MIN;
    assert.equal(decide(history, nine - 5 * MIN).desired, 0);
    const d = decide(history, nine - 10_000);
    // 600 a minute at 1 s each: 10 in flight, plus 1.28 x sqrt(10) Poisson headroom: 15.
    assert.equal(d.desired, 15);
    assert.match(d.reason, /~600\.0\/min/);
  });

  it('falls back to the reactive policy when arrivals come that the forecast did not expect', () => {
    const { history } = timer();
    const at = T0 + 177 * MIN; // two minutes after the last timer arrival: the forecast said none
    for (let i = 0; i < 6; i++) history.add(at + 4000 + i * 100);
    for (let s = 0; s < 6; s++) history.observeConcurrency(at + 4000 + s * 1000, 5);
    const now = at + 10_000;
    const p = pool({ instances: 1, ready: 1, inFlight: 1, queued: 4 });
    const d = decide(history, now, p);
    const r = reactive.decide({ config: cfg, history, pool: p, now });
    assert.match(d.reason, /miss/);
    // Panic: 5 in flight and queued at 0.7 per instance = 8, more than the 5 the requests alone need.
    assert.equal(r.desired, 8);
    assert.equal(d.desired, 8);
  });

  it('is a pure function of its input: same decision, history untouched but for its cache', () => {
    const a = timer();
    const b = timer();
    const c = timer();
    const probe = (h: DemandHistory) => ({
      series: [...h.series(T0 - MIN, T0 + 4 * 60 * MIN, MIN)],
      fine: [...h.series(T0 + 170 * MIN, T0 + 176 * MIN, 1000)],
      idle: [...h.idleHistogram()],
      total: h.totalArrivals,
      last: h.lastArrivalAt,
    });
    const t1 = T0 + 179 * MIN + 30_000;
    const t2 = T0 + 180 * MIN - 12_000;
    a.history.advance(t1);
    for (const name of ['reactive', 'keepalive', 'histogram', 'predictive'] as const) {
      const input = { config: cfg, history: a.history, pool: pool(), now: t1 };
      assert.deepEqual(POLICIES[name].decide(input), POLICIES[name].decide(input), name);
    }
    a.history.advance(t2);
    const warm = predictive.decide({ config: cfg, history: a.history, pool: pool(), now: t2 });
    // A history that never answered the earlier call (a cold cache) decides the same.
    b.history.advance(t2);
    const cold = predictive.decide({ config: cfg, history: b.history, pool: pool(), now: t2 });
    assert.deepEqual(warm, cold);
    c.history.advance(t2);
    assert.deepEqual(probe(a.history), probe(c.history));
  });

  it('serves what is in flight and stays within the configured bounds', () => {
    const history = new DemandHistory();
    assert.equal(decide(history, T0, pool({ inFlight: 2, queued: 1 })).desired, 3);
    const { history: h } = timer();
    const bounded = config({ minInstances: 2, maxInstances: 3 });
    const now = T0 + 177 * MIN;
    h.advance(now);
    assert.equal(predictive.decide({ config: bounded, history: h, pool: pool(), now }).desired, 2);
    assert.equal(
      predictive.decide({ config: bounded, history: h, pool: pool({ queued: 9 }), now }).desired,
      3,
    );
  });
});
