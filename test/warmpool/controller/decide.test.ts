// decide(): a deployment's desired instances from its state, what was observed and an explicit `now`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import {
  type DeciderState,
  decide,
  initialDeciderState,
  type Observations,
} from '../../../warmpool/controller/index.ts';
import type { DemandHistory } from '../../../warmpool/policies/index.ts';
import { deployment } from '../../support/platform.ts';
import { historyOf, MIN, T0 } from '../policies/helpers.ts';

const spec = (o: Partial<DeploymentSpec['scaling']> = {}): DeploymentSpec =>
  deployment('d', 'generative', 'tiny', {
    scaling: {
      minInstances: 0,
      maxInstances: 4,
      warmBuffer: 0,
      keepAliveMs: 60_000,
      ttftSloMs: 1000,
      policy: 'keepalive',
      ...o,
    },
  });

const fresh = (scaleToZero = true): DeciderState =>
  initialDeciderState(
    { scaleToZero, tickMs: 500, defaultPolicy: 'predictive' },
    { coldStartMs: 3000, serviceMs: 1000 },
  );

/** A deployment with no instances and no demand, its history read through `now`, unless `o` says otherwise. */
function observed(now: number, history: DemandHistory | null, o: Partial<Observations> = {}): Observations {
  return {
    spec: spec(),
    demand: { inUse: 0, queued: 0 },
    pool: { actual: 0, instances: [] },
    ...(history && { history: { reader: history, readThrough: now } }),
    capacityCeiling: 8,
    ...o,
  };
}

/** Freezes a plain value and the plain objects and arrays it holds (not the history, which caches). */
function deepFreeze<T>(v: T): T {
  const plain = (x: unknown) => Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype;
  if (v && typeof v === 'object' && plain(v) && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

describe('decide() without a request history: the declared target', () => {
  it('keeps capacity during keep-alive, then scales to zero, and carries the state unchanged', () => {
    const state = fresh();
    const obs = (now: number) =>
      observed(now, null, {
        demand: { inUse: 0, queued: 0, lastRequestAt: T0 },
        pool: { actual: 2, instances: [] },
      });
    const held = decide(state, obs(T0 + 59_999), T0 + 59_999);
    assert.deepEqual(
      { desired: held.desired, reason: held.reason },
      {
        desired: 2,
        reason: 'keep-alive: holding 2 for 1 ms more (inUse 0, queued 0, min 0, buffer 0, max 4)',
      },
    );
    assert.equal(held.next, state);
    const expired = decide(state, obs(T0 + 60_000), T0 + 60_000);
    assert.equal(expired.desired, 0);
    assert.equal(
      expired.reason,
      'scale to zero: idle, keep-alive expired (inUse 0, queued 0, min 0, buffer 0, max 4)',
    );
  });

  it('scales up from zero at once for a waiting request', () => {
    const d = decide(fresh(), observed(T0, null, { demand: { inUse: 0, queued: 3, lastRequestAt: T0 } }), T0);
    assert.equal(d.desired, 1);
    assert.equal(
      d.reason,
      'scale up from zero: max(min, demand + buffer) = 1 (inUse 0, queued 3, min 0, buffer 0, max 4)',
    );
  });
});

describe('decide() with a request history: the policy, held to the declared bounds', () => {
  it('runs the deployment’s policy at `now` and samples the requests in flight where the history is complete', () => {
    const h = historyOf([T0 - 30_000], T0);
    const d = decide(
      fresh(),
      observed(T0, h, {
        demand: { inUse: 1, inFlight: 3, queued: 0 },
        pool: { actual: 1, instances: [{ id: 'a', state: 'serving', coldStartMs: 2000 }] },
      }),
      T0,
    );
    assert.equal(d.desired, 1);
    assert.equal(d.reason, 'keepalive: keep-alive: last arrival 30000 ms ago < 60000 ms; holding 1');
    assert.deepEqual(d.next.measured.samples, [[T0 - 1, 3]]);
    assert.deepEqual(d.next.measured.coldStarts, [2000]);
    assert.deepEqual([...d.next.measured.counted], ['a']);
  });

  it('counts each instance’s cold start once and keeps the last five', () => {
    let state = fresh();
    const h = historyOf([], T0);
    const starts = [4000, 1000, 5000, 2000, 3000, 6000];
    for (let k = 0; k < starts.length; k++) {
      const instances = starts
        .slice(0, k + 1)
        .map((c, i) => ({ id: `i${i}`, state: 'ready-idle' as const, coldStartMs: c }));
      state = decide(state, observed(T0 + k, h, { pool: { actual: k + 1, instances } }), T0 + k).next;
    }
    assert.deepEqual(state.measured.coldStarts, [1000, 5000, 2000, 3000, 6000]);
  });

  it('raises the policy’s number to the floors and caps it at max', () => {
    const h = historyOf([T0 - 10 * MIN], T0); // keep-alive expired: the policy alone would say 0
    const buffered = decide(
      fresh(),
      observed(T0, h, { spec: spec({ warmBuffer: 1 }), demand: { inUse: 0, queued: 2 } }),
      T0,
    );
    assert.equal(buffered.desired, 2, 'two waiting fit one instance at 8 each, and one more as the buffer');
    assert.equal(
      buffered.reason,
      'keepalive: keep-alive expired (last arrival 600000 ms ago); 1 for 2 in flight; raised to 2 (in use + buffer 1)',
    );
    const capped = decide(
      fresh(),
      observed(T0, h, { spec: spec({ maxInstances: 3 }), demand: { inUse: 5, inFlight: 40, queued: 0 } }),
      T0,
    );
    assert.equal(capped.desired, 3);
    assert.equal(
      capped.reason,
      'keepalive: keep-alive expired (last arrival 600000 ms ago); 3 for 40 in flight; raised to 5 (in use + buffer 0); capped at max 3',
    );
    const warm = decide(fresh(false), observed(T0, h, { spec: spec({ warmBuffer: 2 }) }), T0);
    assert.equal(warm.desired, 2);
    assert.match(warm.reason, /; raised to 2 \(scale-to-zero off\)$/);
  });

  it('does not scale down for an arrival the history has not seen yet', () => {
    const h = historyOf([T0 - 10 * MIN], T0);
    const unseen = { inUse: 0, queued: 0, lastRequestAt: T0 };
    const d = decide(fresh(), observed(T0, h, { demand: unseen, pool: { actual: 2, instances: [] } }), T0);
    assert.equal(d.desired, 2);
    assert.match(d.reason, /; raised to 2 \(an arrival the history has not seen yet\)$/);
    const seen = { ...unseen, lastRequestAt: T0 - 1 };
    assert.equal(
      decide(fresh(), observed(T0, h, { demand: seen, pool: { actual: 2, instances: [] } }), T0).desired,
      0,
    );
  });

  it('sizes by the capacity measured at the TTFT SLO, and forgets it 15 minutes after the last breach', () => {
    const h = historyOf([T0 - 30_000], T0 + 20 * MIN);
    const breach = observed(T0, h, {
      demand: { inUse: 1, inFlight: 8, queued: 0, firstToken: { count: 20, p90Ms: 4000 } },
      pool: { actual: 1, instances: [{ id: 'a', state: 'serving' }] },
      history: { reader: h, readThrough: T0 },
    });
    const d = decide(fresh(), breach, T0);
    assert.deepEqual(d.next.measured.capacity, { bound: 2, breachAt: T0 }, '8 per instance at 4× the SLO: 2');
    assert.equal(d.desired, 4, '8 in flight at 2 per instance');
    assert.match(d.reason, /; capacity 2\.0 per instance at the TTFT SLO$/);

    const quiet = (now: number) =>
      observed(now, h, {
        demand: { inUse: 1, inFlight: 8, queued: 0 },
        pool: { actual: 4, instances: [] },
        history: { reader: h, readThrough: now },
      });
    const within = decide(d.next, quiet(T0 + 15 * MIN), T0 + 15 * MIN);
    assert.equal(within.desired, 4);
    assert.equal(within.next.measured.capacity.bound, 2);
    const after = decide(within.next, quiet(T0 + 15 * MIN + 1), T0 + 15 * MIN + 1);
    assert.equal(after.desired, 1, 'the ceiling again: 8 per instance');
    assert.deepEqual(after.next.measured.capacity, { breachAt: T0 });
    assert.doesNotMatch(after.reason, /TTFT SLO/);
  });

  it('is pure: frozen inputs, the same decision twice, the state it was given left as it was', () => {
    const h = historyOf([T0 - 30_000, T0 - 20_000], T0);
    const state = deepFreeze(decide(fresh(), observed(T0 - 500, h), T0 - 500).next);
    const before = structuredClone(state);
    const obs = deepFreeze(
      observed(T0, h, {
        demand: {
          inUse: 1,
          inFlight: 6,
          queued: 1,
          lastRequestAt: T0 - 20_000,
          firstToken: { count: 9, p90Ms: 2500 },
        },
        pool: { actual: 1, instances: [{ id: 'a', state: 'ready-idle', coldStartMs: 1200 }] },
        history: { reader: h, readThrough: T0 },
      }),
    );
    const first = decide(state, obs, T0);
    const again = decide(state, obs, T0);
    assert.deepEqual(again, first);
    assert.deepEqual(state, before);
    assert.notEqual(first.next, state);
    assert.deepEqual(first.next.measured.capacity, { bound: 2.4, breachAt: T0 });
  });
});
