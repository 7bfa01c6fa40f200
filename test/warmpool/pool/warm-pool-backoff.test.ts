import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { WarmPool } from '../../../warmpool/pool/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { FakeProvider } from '../../support/fake-provider.ts';
import { deployment } from '../../support/platform.ts';

/** `<name>-1`, `<name>-2`, …: ids the assertions can name (the default ids are random). */
const sequentialIds = (name: string) => {
  let n = 0;
  return () => `${name}-${++n}`;
};

const T0 = 1_000_000;
const spec: DeploymentSpec = deployment('fake', 'generative', 'tiny');

describe('WarmPool crash loop (fake provider)', () => {
  it('backs off 1 s, 2 s, 4 s … capped, and starts nothing while backing off', async () => {
    using clock = new FakeClock(T0);
    const p = new FakeProvider(clock);
    const pool = new WarmPool({
      newId: sequentialIds('fake'),
      deployment: spec,
      provider: p,
      backoff: { baseMs: 1000, maxMs: 4000 },
      clock,
    });
    const crashLast = (t: number) =>
      p.crash(p.started.at(-1)!, { stderrTail: `boom\ninstance failed to start: no model at ${t}\n` });

    await pool.reconcile(1, T0);
    assert.deepEqual(p.started, ['fake-1']);
    let t = T0;
    for (const wait of [1000, 2000, 4000, 4000]) {
      crashLast(t);
      await pool.reconcile(1, t); // observes the failure
      const s = pool.status();
      assert.equal(s.backoffUntil, t + wait);
      assert.equal(s.lastFailure?.reason, `exit code 1: instance failed to start: no model at ${t}`);
      assert.equal(s.lastFailure?.instanceId, p.started.at(-1));
      assert.deepEqual(s.instances, []);
      const n = p.started.length;
      await pool.reconcile(1, t + wait - 1);
      assert.equal(p.started.length, n, 'no start during backoff');
      t += wait;
      await pool.reconcile(1, t);
      assert.equal(p.started.length, n + 1, 'one start when the backoff ends');
      assert.equal(pool.status().backoffUntil, undefined);
    }
    assert.equal(pool.status().consecutiveFailures, 4);

    // It comes up: the count resets, so the next failure waits the base again.
    p.setHealth(p.started.at(-1)!, 'ready');
    await pool.reconcile(1, t);
    assert.equal(pool.status().instances[0]?.state, 'ready-idle');
    assert.equal(pool.status().consecutiveFailures, 0);
    assert.equal(pool.status().lastFailure?.at, t - 4000, 'the last failure stays visible');
  });

  it('a crash after ready is replaced at once, without backoff, and reported through onGone', async () => {
    using clock = new FakeClock(T0);
    const p = new FakeProvider(clock);
    p.behaviour = () => ({ readyAfterMs: 0 });
    const gone: string[] = [];
    const ready: string[] = [];
    const pool = new WarmPool({
      newId: sequentialIds('fake'),
      deployment: spec,
      provider: p,
      clock,
      hooks: {
        onReady: (i) => ready.push(i.url),
        onGone: (i, how) => gone.push(`${i.id} ${how.state} ${how.reason}`),
      },
    });
    await pool.reconcile(1, T0);
    await pool.reconcile(1, T0 + 10);
    assert.deepEqual(ready, ['http://fake/fake-1']);
    p.crash('fake-1');
    await pool.reconcile(1, T0 + 20);
    assert.deepEqual(gone, ['fake-1 failed exit code 1']);
    assert.equal(pool.status().backoffUntil, undefined);
    assert.deepEqual(p.started, ['fake-1', 'fake-2']);
  });

  it('a start that throws counts as a failure and backs off', async () => {
    using clock = new FakeClock(T0);
    const p = new FakeProvider(clock);
    p.behaviour = () => new Error('no port');
    const pool = new WarmPool({ deployment: spec, provider: p, clock, newId: sequentialIds('fake') });
    await pool.reconcile(2, T0);
    const s = pool.status();
    assert.equal(s.consecutiveFailures, 2);
    assert.equal(s.backoffUntil, T0 + 2000);
    assert.equal(s.lastFailure?.reason, 'start failed: no port');
  });

  it('scales down the idlest first: not-ready instances before ready ones', async () => {
    using clock = new FakeClock(T0);
    const p = new FakeProvider(clock);
    const pool = new WarmPool({ deployment: spec, provider: p, clock, newId: sequentialIds('fake') });
    p.behaviour = () => ({ readyAfterMs: 0 });
    await pool.reconcile(1, T0);
    await pool.reconcile(1, T0 + 1);
    p.behaviour = () => ({});
    await pool.reconcile(2, T0 + 2);
    await pool.reconcile(1, T0 + 3);
    assert.deepEqual(p.stopped, ['fake-2']);
    assert.deepEqual(
      pool.status().instances.map((i) => `${i.id} ${i.state}`),
      ['fake-1 ready-idle', 'fake-2 draining'],
    );
    await pool.reconcile(1, T0 + 4);
    assert.deepEqual(
      pool.status().instances.map((i) => i.id),
      ['fake-1'],
    );
  });
});
