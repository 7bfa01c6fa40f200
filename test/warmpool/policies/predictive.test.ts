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

/** The decision at `now` over the arrivals of `times` before it. */
function decideAt(times: readonly number[], now: number) {
  return decide(
    historyOf(
      times.filter((t) => t < now),
      now,
    ),
    now,
  );
}

describe('predictive policy', () => {
  it('has an instance ready for the next minute of a 5-minute timer and none between', () => {
    const { history, last } = timer();
    const next = T0 + 180 * MIN; // the minute the next arrival falls in
    assert.equal(decide(history, last + 2000).desired, 0, 'released once the minute’s one arrival came');
    assert.equal(decide(history, T0 + 177 * MIN).desired, 0, 'nothing between arrivals');
    // The fine history knows the phase within the minute (20 s in): ready from a start (10 s), a
    // tick (2 s) and a bucket of guard before it, not from the minute's start.
    assert.equal(decide(history, next - 12_000).desired, 0);
    assert.equal(decide(history, next + 6000).desired, 0);
    const ahead = decide(history, next + 7000);
    assert.equal(ahead.desired, 1);
    assert.match(ahead.reason, /holding: bursts of ~1 every 300 s/);
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
    // Between the bursts, their size alone makes one instance worth holding at the default threshold
    // (a base rate of ~1/1400 a minute × 100 requests a cold start would catch) ...
    const early = decide(history, nine - 5 * MIN);
    assert.equal(early.desired, 1);
    assert.match(early.reason, /holding/);
    // ... and at a higher threshold none.
    history.advance(nine - 5 * MIN);
    const strict = config({ knobs: { threshold: 0.2 } });
    const none = predictive.decide({ config: strict, history, pool: pool(), now: nine - 5 * MIN });
    assert.equal(none.desired, 0);
    // Sized up ahead of the burst's time of day.
    const d = decide(history, nine - 10_000);
    // 600 a minute at 1 s each: 10 in flight, plus 3 x sqrt(10) Poisson headroom: 20.
    assert.equal(d.desired, 20);
    assert.match(d.reason, /~600\.0\/min/);
  });

  it('sizes a burst of a detected period from the same phase of the last periods', () => {
    // 1200 requests in the first minute of every hour, nothing else: the last ten minutes say 0 a minute.
    const times = [0, 1, 2, 3, 4, 5].flatMap((h) => every(T0 + h * 60 * MIN, 50, 1200));
    const history = historyOf(times, T0 + 5 * 60 * MIN + MIN);
    const next = T0 + 6 * 60 * MIN;
    const d = decide(history, next - 12_000);
    // 20/s at 1 s each: 20 in flight plus 3 x sqrt(20) Poisson headroom: 34.
    assert.equal(d.desired, 34);
    assert.match(d.reason, /~1200\.0\/min/);
    assert.equal(decide(history, next - 30 * MIN).desired, 0, 'nothing in the quiet phase');
  });

  it('sizes ahead for a job that recurs at the same minute of a clock period on top of a stream', () => {
    // One request every 2 s, plus 300 more in minutes 15 and 45 of every hour (a half-hourly job),
    // for three hours. The stream never leaves a minute idle, so no run-start period shows the job.
    const job = (m: number) => every(T0 + m * MIN, 200, 300);
    const times = [...every(T0, 2000, 4 * 60 * 30), ...[15, 45, 75, 105, 135, 165].flatMap(job)].sort(
      (a, b) => a - b,
    );
    const spike = T0 + (3 * 60 + 15) * MIN;
    // Half a minute before: sized for the stream alone (0.5/s at 1 s each, plus 3 x sqrt(0.5)).
    const before = decideAt(times, spike - 30_000);
    assert.equal(before.desired, 3);
    assert.match(before.reason, /~30\.0\/min/);
    // Within a start's reach of the job's minute: that minute as it came in the last cycles, 330 a
    // minute (5.5/s at 1 s each, plus 3 x sqrt(5.5) headroom: 13).
    const d = decideAt(times, spike - 10_000);
    assert.equal(d.desired, 13);
    assert.match(d.reason, /~330\.0\/min/);
  });

  it('takes an hourly job as recurring after two cycles, a shorter period after three', () => {
    // The stream of one request every 2 s, and 300 more in minutes 10 and 70 only.
    const job = (m: number) => every(T0 + m * MIN, 200, 300);
    const times = [...every(T0, 2000, 3 * 60 * 30), ...[10, 70].flatMap(job)].sort((a, b) => a - b);
    const hourly = decideAt(times, T0 + 130 * MIN - 10_000);
    assert.equal(hourly.desired, 13);
    assert.match(hourly.reason, /~330\.0\/min/);
    // Every 15 minutes, twice (minutes 10 and 25): not yet a recurrence.
    const quarter = [...every(T0, 2000, 60 * 30), ...[10, 25].flatMap(job)].sort((a, b) => a - b);
    const early = decideAt(quarter, T0 + 40 * MIN - 10_000);
    assert.equal(early.desired, 3);
    assert.match(early.reason, /~30\.0\/min/);
  });

  it("sizes for the last two seconds' arrivals at a burst's onset", () => {
    // One request every 10 s for 20 minutes, then 8/s from 30 s into minute 20.
    const m20 = T0 + 20 * MIN;
    const times = [...every(T0, 10_000, 20 * 6 + 3), ...every(m20 + 30_000, 125, 40)];
    // 4 s in: the 10 s rate says 3.2/s, the last 2 s 8/s (480 a minute): 8 in flight when a start
    // is ready, plus 3 x sqrt(8) headroom: 17 (the 10 s rate alone: 9). Sixteen arrivals are too few
    // to read a rise between the two rates as a surge.
    const d = decideAt(times, m20 + 34_000);
    assert.equal(d.desired, 17);
    assert.match(d.reason, /~480\.0\/min/);
  });

  it('carries a surge on to when a start made now is ready', () => {
    // One request every 10 s for 20 minutes; then, 24 s into minute 20, 7.5/s for 8 s and 20/s for 2 s.
    const m20 = T0 + 20 * MIN;
    const times = [
      ...every(T0, 10_000, 20 * 6 + 3),
      ...every(m20 + 24_000, 1000 / 7.5, 60),
      ...every(m20 + 32_000, 50, 40),
    ];
    // The last 10 s: 10/s; the last 2 s: 20/s. Their middles are 4 s apart, so the rate rises 2.5/s
    // each second: 52.5/s 13 s after the 2 s window's middle, when a start made now (10 s + a 2 s
    // tick) is ready. 52.5 in flight plus 3 x sqrt(52.5) headroom: 75 (the last 2 s alone: 34).
    const d = decideAt(times, m20 + 34_000);
    assert.equal(d.desired, 75);
    assert.match(d.reason, /~3150\.0\/min/);
    // Once the 10 s rate has caught up with a steady 20/s, the surge term is gone: 20 + 3 x sqrt(20).
    const steady = [...times, ...every(m20 + 34_000, 50, 200)];
    const later = decideAt(steady, m20 + 44_000);
    assert.equal(later.desired, 34);
  });

  it('takes a minute that rose over the last as rising once more when the next is within reach', () => {
    // 60 a minute for ten minutes, then 120 a minute.
    const times = [...every(T0, 1000, 600), ...every(T0 + 10 * MIN, 500, 120)];
    // Half-way through the minute: 120 a minute (2/s, plus 3 x sqrt(2)).
    const mid = decideAt(times, T0 + 10 * MIN + 30_000);
    assert.equal(mid.desired, 7);
    assert.match(mid.reason, /~120\.0\/min/);
    // A start's reach from the next minute: 120 + (120 - 60) = 180 a minute (3/s, plus 3 x sqrt(3)).
    const late = decideAt(times, T0 + 10 * MIN + 50_000);
    assert.equal(late.desired, 9);
    assert.match(late.reason, /~180\.0\/min/);
  });

  it('holds for a minute that saw arrivals in each of the last cycles of a clock period', () => {
    // A job every 15 minutes (30 s into its minute) among irregular single arrivals that make the
    // idle-time hazard of its gap small; the job's minute recurred in each of the last three cycles.
    const jobs = every(T0 + 30_000, 15 * MIN, 12);
    const noise = [3, 19, 26, 41, 50, 64, 71, 88, 96, 110, 118, 124, 139, 147, 152, 161, 172].map(
      (m) => T0 + m * MIN + 5000,
    );
    const history = historyOf(
      [...jobs, ...noise].sort((a, b) => a - b),
      T0 + 179 * MIN,
    );
    const next = T0 + 180 * MIN + 30_000;
    // At a threshold of 0.5, the hazard alone (0.2 × 1.2 requests at stake) does not hold ...
    history.advance(next - 40_000);
    const at = (knobs: Record<string, number>) =>
      predictive.decide({ config: config({ knobs }), history, pool: pool(), now: next - 40_000 });
    const without = at({ threshold: 0.5, recurringP: 0 });
    assert.equal(without.desired, 0, without.reason);
    // ... the recurrence (p 0.5) does.
    const d = at({ threshold: 0.5 });
    assert.equal(d.desired, 1, d.reason);
    assert.match(d.reason, /p\(next 1 min\) 0\.50/);
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

describe('predictive policy, short periods', () => {
  // A live-test shape: 8 requests within a second every 20 s, 2 s cold starts, 1 s ticks, 8 slots.
  const short = config({ coldStartMs: 2000, tickMs: 1000, capacityPerInstance: 8 });
  const start = T0 + 7 * MIN + 3000;
  const burst = (k: number) => every(start + k * 20_000 + 100, 100, 8);

  function at(history: DemandHistory, now: number, p: PoolState = pool()) {
    history.advance(now);
    return predictive.decide({ config: short, history, pool: p, now });
  }

  it('has an instance ready a start and a tick before each burst and none between', () => {
    const history = historyOf([0, 1, 2, 3].flatMap(burst), start + 3 * 20_000 + 1000);
    const fifth = start + 4 * 20_000;
    // While the fourth burst's requests run, they are served.
    assert.equal(at(history, fifth - 18_500, pool({ instances: 1, ready: 1, inFlight: 8 })).desired, 1);
    for (const before of [16_000, 12_000, 8000, 5000]) {
      const d = at(history, fifth - before);
      assert.equal(d.desired, 0, `${before} ms before the fifth burst`);
      assert.match(d.reason, /released: bursts of ~8 every 20 s/);
    }
    // From a start and a tick (3 s) plus a bucket of guard before it: ready 2-3 s ahead.
    assert.equal(at(history, fifth - 4000).desired, 1);
    const d = at(history, fifth - 2000);
    assert.equal(d.desired, 1);
    assert.match(d.reason, /holding: bursts of ~8 every 20 s, next at \+2\.0 s/);
    for (const t of burst(4)) history.add(t);
    assert.equal(at(history, fifth + 1500).desired, 1, 'held while the burst may go on');
    assert.equal(at(history, fifth + 5000).desired, 0, 'released after it');
    assert.equal(at(history, fifth + 16_000).desired, 1, 'and ready again for the sixth');
  });

  it('keeps the minute-grain forecast when bursts are irregular or too close for a start', () => {
    const irregular = [0, 17_000, 41_000, 58_000].flatMap((o) => every(start + o, 100, 8));
    const h1 = historyOf(irregular, start + 59_000);
    assert.doesNotMatch(at(h1, start + 70_000).reason, /bursts of/);
    // Every 5 s with a 10 s cold start: releasing in between would only make cold starts.
    const close = [0, 1, 2, 3, 4].flatMap((k) => every(start + k * 5000, 100, 3));
    const h2 = historyOf(close, start + 21_000);
    const d = predictive.decide({ config: cfg, history: h2, pool: pool(), now: start + 22_000 });
    assert.doesNotMatch(d.reason, /bursts of/);
  });
});
