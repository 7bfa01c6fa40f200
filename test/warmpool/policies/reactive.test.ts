import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemandHistory, POLICIES } from '../../../warmpool/policies/index.ts';
import { T0, config, pool } from './helpers.ts';

const { reactive } = POLICIES;

/** One concurrency sample a second: `level(s)` for s seconds before `now`. */
function sampled(now: number, seconds: number, level: (s: number) => number): DemandHistory {
  const h = new DemandHistory();
  h.add(now - seconds * 1000);
  for (let s = seconds; s >= 1; s--) h.observeConcurrency(now - s * 1000, level(s));
  h.add(now - 500);
  h.advance(now);
  return h;
}

describe('reactive policy', () => {
  const now = T0 + 3_600_000;

  it('sizes from the stable window at the target utilization', () => {
    const history = sampled(now, 120, () => 1.4);
    const d = reactive.decide({
      config: config(),
      history,
      pool: pool({ instances: 2, ready: 2, inFlight: 1 }),
      now,
    });
    // 1.4 / (1 x 0.7) = 2 instances; the panic window asks 2, under 2 x 2 ready: stable mode.
    assert.equal(d.desired, 2);
    assert.match(d.reason, /stable/);
  });

  it('panics when the panic window asks for twice the ready instances', () => {
    // A burst in the last 6 s: the stable average (1.9) would ask for 3, the panic window for 15.
    const history = sampled(now, 60, (s) => (s <= 6 ? 10 : 1));
    const d = reactive.decide({
      config: config(),
      history,
      pool: pool({ instances: 2, ready: 2, inFlight: 2, queued: 8 }),
      now,
    });
    assert.equal(d.desired, 15);
    assert.match(d.reason, /panic/);
  });

  it('never scales down in panic', () => {
    const history = sampled(now, 60, (s) => (s <= 6 ? 10 : 1));
    const d = reactive.decide({
      config: config(),
      history,
      pool: pool({ instances: 20, ready: 3, inFlight: 10 }),
      now,
    });
    assert.equal(d.desired, 20);
    // Out of panic (enough ready) it scales down: the stable average asks 3, the 10 in flight 10.
    const calm = reactive.decide({
      config: config(),
      history,
      pool: pool({ instances: 20, ready: 20, inFlight: 10 }),
      now,
    });
    assert.equal(calm.desired, 10);
    assert.match(calm.reason, /stable/);
  });

  it('scales to zero once no arrival came for the grace period', () => {
    const history = new DemandHistory();
    history.add(now - 29_000);
    history.advance(now);
    const input = { config: config(), history, pool: pool({ instances: 1, ready: 1 }) };
    assert.equal(reactive.decide({ ...input, now }).desired, 1);
    assert.equal(reactive.decide({ ...input, now: now + 1000 }).desired, 0);
    const longer = config({ knobs: { scaleToZeroGraceMs: 60_000 } });
    assert.equal(reactive.decide({ ...input, config: longer, now: now + 1000 }).desired, 1);
  });

  it('keeps capacity for what is in flight and queued even without samples', () => {
    const history = new DemandHistory();
    const d = reactive.decide({
      config: config({ knobs: { scaleToZeroGraceMs: 0 } }),
      history,
      pool: pool({ inFlight: 3, queued: 1 }),
      now,
    });
    // The panic window sees 4 now: 4 / 0.7 = 6, at least 2 x max(0 ready, 1).
    assert.equal(d.desired, 6);
  });
});
