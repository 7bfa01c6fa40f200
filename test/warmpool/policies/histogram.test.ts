import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POLICIES } from '../../../warmpool/policies/index.ts';
import { HOUR, MIN, T0, config, every, historyOf, pool } from './helpers.ts';

const { histogram } = POLICIES;

function decideAt(history: ReturnType<typeof historyOf>, now: number, knobs?: Record<string, number>) {
  return histogram.decide({ config: config({ knobs }), history, pool: pool(), now });
}

describe('histogram policy (Shahrad et al. 2020)', () => {
  it('pre-warms at the head percentile and keeps alive to the tail, with margins', () => {
    // 20 idle times of 9 empty minutes (every 10 min) and one of 11: head bin 9, p99 bin 11.
    const times = [...every(T0 + 30_000, 10 * MIN, 20)];
    times.push(times.at(-1)! + 12 * MIN);
    const last = times.at(-1)!;
    const h = historyOf(times, last + MIN);
    // Pre-warm 0.9 x 9 min = 486 s, minus the 10 s cold start; keep alive 1.1 x (12 min - 486 s) = 257.4 s.
    assert.equal(decideAt(h, last + 475_000).desired, 0);
    const loaded = decideAt(h, last + 476_000);
    assert.equal(loaded.desired, 1);
    assert.match(loaded.reason, /prewarm 486000 ms, keep-alive 257400 ms/);
    assert.equal(decideAt(h, last + 486_000 + 257_399).desired, 1);
    assert.equal(decideAt(h, last + 486_000 + 257_400).desired, 0);
  });

  it('the knob moves the keep-alive window', () => {
    const times = [...every(T0 + 30_000, 10 * MIN, 20)];
    times.push(times.at(-1)! + 12 * MIN);
    const last = times.at(-1)!;
    const h = historyOf(times, last + MIN);
    // At the 90th percentile the tail is bin 9: keep alive 1.1 x (10 min - 486 s).
    assert.match(decideAt(h, last + 500_000, { tailPercentile: 90 }).reason, /keep-alive 125400 ms/);
  });

  it('keeps alive for the whole range while there are too few idle times', () => {
    const times = every(T0 + 30_000, 10 * MIN, 4);
    const last = times.at(-1)!;
    const h = historyOf(times, last + MIN);
    const d = decideAt(h, last + 3 * HOUR);
    assert.equal(d.desired, 1);
    assert.match(d.reason, /3 idle times, standard keep-alive/);
    assert.equal(decideAt(h, last + 4 * HOUR).desired, 0);
  });

  it('keeps alive for the whole range when the histogram is flat (low CV)', () => {
    // Idle times of 0..9 empty minutes, once each, over a 10-minute range: CV 0.
    const times = [T0 + 30_000];
    for (let g = 0; g < 10; g++) times.push(times.at(-1)! + (g + 1) * MIN);
    const last = times.at(-1)!;
    const h = historyOf(times, last + MIN, { idleRangeBuckets: 10 });
    const d = decideAt(h, last + 5 * MIN);
    assert.equal(d.desired, 1);
    assert.match(d.reason, /CV 0.00 < 2/);
    assert.equal(decideAt(h, last + 10 * MIN).desired, 0);
  });

  it('forecasts the next idle time when most are out of range', () => {
    // Every 30 min over a 10-minute range: all out of range; idle time 29 min.
    const times = every(T0 + 30_000, 30 * MIN, 12);
    const last = times.at(-1)!;
    const h = historyOf(times, last + MIN, { idleRangeBuckets: 10 });
    // Pre-warm 0.85 x 29 min = 1479 s (ready then), keep 0.3 x 29 min = 522 s.
    assert.equal(decideAt(h, last + 20 * MIN).desired, 0);
    const d = decideAt(h, last + 1479_000 - 10_000);
    assert.equal(d.desired, 1);
    assert.match(d.reason, /100% out of range, forecast idle 1740 s/);
    assert.equal(decideAt(h, last + 1479_000 + 522_000).desired, 0);
  });

  it('always serves the requests in flight', () => {
    const h = historyOf([T0], T0 + 1000);
    const d = histogram.decide({
      config: config(),
      history: h,
      pool: pool({ inFlight: 3, queued: 2 }),
      now: T0 + 5 * HOUR,
    });
    assert.equal(d.desired, 5);
  });
});
