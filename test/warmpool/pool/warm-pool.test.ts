// The warm pool's reconcile over a fake provider in simulated time: every instant is named. The same
// pool over real instance processes runs in the platform's live tests (test/warmpool/platform*.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WarmPool } from '../../../warmpool/pool/index.ts';
import type { ProviderInstance } from '../../../warmpool/providers/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { FakeProvider } from '../../support/fake-provider.ts';
import { deployment } from '../../support/platform.ts';

const T0 = 1_000_000;
const COLD_START_MS = 1500;

/** A pool of `tiny` over a fake provider whose instances are ready 1.5 s after their start. */
function setUp(clock: FakeClock) {
  const provider = new FakeProvider(clock);
  provider.behaviour = () => ({ readyAfterMs: COLD_START_MS });
  const ready: ProviderInstance[] = [];
  const draining: string[] = [];
  const gone: string[] = [];
  let n = 0;
  const pool = new WarmPool({
    deployment: deployment('tiny', 'generative', 'tiny'),
    provider,
    clock,
    drainTimeoutMs: 20_000,
    newId: () => `tiny-${++n}`,
    hooks: {
      onReady: (i) => ready.push(i),
      onDraining: (i) => draining.push(i.id),
      onGone: (i, how) => gone.push(`${i.id} ${how.state}${how.reason ? ` ${how.reason}` : ''}`),
    },
  });
  const states = () => pool.status().instances.map((i) => `${i.id} ${i.state}`);
  return { provider, pool, ready, draining, gone, states };
}

describe('WarmPool over a fake provider, in simulated time', () => {
  it('scales 2 → 1 by draining: the drained instance finishes its in-flight request', async () => {
    using clock = new FakeClock(T0);
    const { provider, pool, ready, draining, gone, states } = setUp(clock);
    await pool.reconcile(2);
    assert.deepEqual(provider.started, ['tiny-1', 'tiny-2']);
    assert.deepEqual(states(), ['tiny-1 starting', 'tiny-2 starting']);
    await clock.advance(COLD_START_MS - 1);
    await pool.reconcile(2);
    assert.equal(ready.length, 0, 'not ready 1 ms before its cold start ends');
    await clock.advance(1);
    await pool.reconcile(2);
    assert.deepEqual(states(), ['tiny-1 ready-idle', 'tiny-2 ready-idle']);
    assert.deepEqual(
      ready.map((i) => i.url),
      ['http://fake/tiny-1', 'http://fake/tiny-2'],
    );
    for (const i of pool.status().instances) {
      assert.equal(i.coldStartMs, COLD_START_MS, 'cold start measured');
      assert.equal(i.readyAt, T0 + COLD_START_MS);
    }

    // Both serve a request until T0 + 6.5 s; one is drained at T0 + 2 s and finishes its own first.
    for (const id of provider.started) provider.busyUntil(id, T0 + 6500);
    await clock.advanceTo(T0 + 2000);
    await pool.reconcile(1);
    assert.deepEqual(draining, ['tiny-1'], 'the first of two equally idle ones');
    assert.deepEqual(provider.stopped, ['tiny-1']);
    assert.deepEqual(states(), ['tiny-1 draining', 'tiny-2 ready-idle']);
    await clock.advanceTo(T0 + 6499);
    await pool.reconcile(1);
    assert.deepEqual(gone, [], 'still serving its request');
    assert.equal(provider.exitOf('tiny-1'), undefined);
    await clock.advance(1);
    await pool.reconcile(1);
    assert.deepEqual(gone, ['tiny-1 stopped']);
    assert.deepEqual(states(), ['tiny-2 ready-idle']);
    assert.deepEqual(
      provider.exitOf('tiny-1'),
      { code: 0, signal: null, stderrTail: '' },
      'it drained cleanly',
    );
    assert.deepEqual(provider.started, ['tiny-1', 'tiny-2'], 'nothing started meanwhile');
  });

  it('an instance killed with SIGKILL is replaced at the next reconcile, and onGone fires', async () => {
    using clock = new FakeClock(T0);
    const { provider, pool, ready, gone, states } = setUp(clock);
    await pool.reconcile(1);
    await clock.advance(COLD_START_MS);
    await pool.reconcile(1);
    assert.deepEqual(states(), ['tiny-1 ready-idle']);

    await clock.advance(500);
    provider.crash('tiny-1', { code: null, signal: 'SIGKILL' });
    await pool.reconcile(1);
    assert.deepEqual(gone, ['tiny-1 failed signal SIGKILL']);
    const s = pool.status();
    assert.deepEqual(states(), ['tiny-2 starting']);
    assert.deepEqual(provider.started, ['tiny-1', 'tiny-2'], 'replaced in the same reconcile');
    assert.equal(s.backoffUntil, undefined, 'a crash after ready is not a crash loop');
    assert.equal(s.consecutiveFailures, 0);
    assert.deepEqual(s.lastFailure, { at: T0 + 2000, instanceId: 'tiny-1', reason: 'signal SIGKILL' });

    await clock.advance(COLD_START_MS);
    await pool.reconcile(1);
    assert.deepEqual(states(), ['tiny-2 ready-idle']);
    assert.deepEqual(
      ready.map((i) => i.id),
      ['tiny-1', 'tiny-2'],
    );
    assert.equal(pool.status().instances[0]!.readyAt, T0 + 2000 + COLD_START_MS);
  });

  it('close() drains every instance and waits until each has ended', async () => {
    using clock = new FakeClock(T0);
    const { provider, pool, gone } = setUp(clock);
    await pool.reconcile(2);
    await clock.advance(COLD_START_MS);
    await pool.reconcile(2);
    provider.busyUntil('tiny-2', T0 + 4000);
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await clock.advanceTo(T0 + 3999);
    assert.equal(closed, false, 'tiny-2 still serves');
    await clock.advance(1);
    await closing;
    assert.deepEqual(gone.sort(), ['tiny-1 stopped', 'tiny-2 stopped']);
    assert.equal(pool.size, 0);
    assert.deepEqual(await provider.list(), []);
  });
});
