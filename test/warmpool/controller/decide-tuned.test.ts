// decide() with the self-tuning policy: the controller's decision path (the deployment's coldStartCost
// reaching the policy, the backtests on its own history) switching when the traffic changes shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, initialDeciderState, type Observations } from '../../../warmpool/controller/index.ts';
import { DemandHistory } from '../../../warmpool/policies/index.ts';
import { deployment } from '../../support/platform.ts';
import { MIN, T0, addShapes } from '../policies/helpers.ts';

const spec = deployment('d', 'generative', 'tiny', {
  scaling: {
    minInstances: 0,
    maxInstances: 8,
    warmBuffer: 0,
    keepAliveMs: 60_000,
    ttftSloMs: 1000,
    policy: 'tuned',
    coldStartCost: 60,
  },
});

const observed = (history: DemandHistory, now: number): Observations => ({
  spec,
  demand: { inUse: 0, queued: 0 },
  pool: { actual: 0, instances: [] },
  history: { reader: history, readThrough: now },
  capacityCeiling: 8,
});

/** The policy the tuned decision names, deciding each minute over [from, to). */
function choices(history: DemandHistory, from: number, to: number): string[] {
  let state = initialDeciderState(
    { scaleToZero: true, tickMs: 500, defaultPolicy: 'predictive' },
    { coldStartMs: 10_000, serviceMs: 200 },
  );
  const seen: string[] = [];
  for (let t = from; t < to; t += MIN) {
    history.advance(t);
    const d = decide(state, observed(history, t), t);
    state = d.next;
    const m = /^tuned: ([a-z0-9 ]+) \(/.exec(d.reason);
    assert.ok(m, d.reason);
    seen.push(m[1]!);
  }
  return seen;
}

describe('decide() with the tuned policy', () => {
  it('self-tunes from the deployment’s own history and switches when its traffic changes shape', () => {
    const h = new DemandHistory();
    // An hour and ten minutes of calls at random, 40 s apart on average: holding on is cheapest.
    addShapes(h, 'random');
    const steady = choices(h, T0 + 60 * MIN, T0 + 80 * MIN).at(-1)!;
    assert.match(steady, /^keepalive/);
    addShapes(h, 'bursts');
    const bursty = choices(h, T0 + 160 * MIN, T0 + 175 * MIN).at(-1)!;
    assert.notEqual(bursty, steady);
  });
});
