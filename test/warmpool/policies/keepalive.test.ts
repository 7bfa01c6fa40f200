import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemandHistory, POLICIES } from '../../../warmpool/policies/index.ts';
import { MIN, T0, config, historyOf, pool } from './helpers.ts';

const { keepalive } = POLICIES;

describe('keepalive policy', () => {
  it('holds what it has for the keep-alive after the last arrival, then drops to the demand', () => {
    const history = historyOf([T0], T0 + 10 * MIN);
    const input = { config: config(), history, pool: pool({ instances: 3, ready: 3 }) };
    assert.equal(keepalive.decide({ ...input, now: T0 + 10 * MIN - 1 }).desired, 3);
    assert.equal(keepalive.decide({ ...input, now: T0 + 10 * MIN }).desired, 0);
    const busy = { ...input, pool: pool({ instances: 3, ready: 3, inFlight: 2 }) };
    assert.equal(keepalive.decide({ ...busy, now: T0 + 10 * MIN }).desired, 2);
  });

  it('starts nothing ahead of demand and honours keepAliveMs and minInstances', () => {
    assert.equal(
      keepalive.decide({ config: config(), history: new DemandHistory(), pool: pool(), now: T0 }).desired,
      0,
    );
    const history = historyOf([T0], T0 + 2 * MIN);
    const short = config({ knobs: { keepAliveMs: MIN } });
    assert.equal(
      keepalive.decide({ config: short, history, pool: pool({ instances: 1 }), now: T0 + 2 * MIN }).desired,
      0,
    );
    const floor = config({ knobs: { keepAliveMs: MIN }, minInstances: 1 });
    assert.equal(
      keepalive.decide({ config: floor, history, pool: pool({ instances: 1 }), now: T0 + 2 * MIN }).desired,
      1,
    );
  });
});
