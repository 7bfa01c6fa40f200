import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { Controller, type Demand, startControllerLoop } from '../../../warmpool/controller/index.ts';
import type { Timers } from '../../../warmpool/leader/index.ts';
import { LocalProvider, type ProviderInstance } from '../../../warmpool/providers/index.ts';
import { deployment } from '../../support/platform.ts';

/** Ticks until `check` holds; the deadline only guards against a hang. */
async function tickUntil(c: Controller, check: () => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    await c.tick(Date.now());
    if (check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(c.status())}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const scaling = (o: Partial<DeploymentSpec['scaling']>): DeploymentSpec['scaling'] => ({
  minInstances: 0,
  maxInstances: 2,
  warmBuffer: 0,
  keepAliveMs: 60_000,
  ttftSloMs: 1000,
  ...o,
});

describe('Controller over LocalProvider', { timeout: 60_000 }, () => {
  const provider = new LocalProvider({ pollIntervalMs: 20 });
  const ready: ProviderInstance[] = [];
  let specs: DeploymentSpec[] = [];
  const demand = new Map<string, Demand>();
  const c = new Controller({
    deployments: () => specs,
    demand: (d) => demand.get(d.name) ?? { inUse: 0, queued: 0 },
    provider,
    decisionsKept: 5,
    pool: {
      drainTimeoutMs: 10_000,
      backoff: { baseMs: 200, maxMs: 60_000 },
      hooks: { onReady: (i) => ready.push(i) },
    },
  });
  after(async () => {
    await c.close();
    await provider.close(1000);
  });
  const tiny = deployment('tiny', 'generative', 'tiny', {
    batching: { kvCacheBytes: 4 * 2 ** 20 },
    scaling: scaling({}),
  });
  const pool = (name: string) => c.status().find((s) => s.deployment === name);

  it('scales from 0 to 1 when demand appears; the instance becomes ready-idle and onReady gets its URL', async () => {
    specs = [tiny];
    await c.tick(Date.now());
    assert.equal(pool('tiny')?.desired, 0);
    assert.deepEqual(pool('tiny')?.instances, []);
    assert.match(c.decisions('tiny').at(-1)!.reason, /scale to zero/);

    demand.set('tiny', { inUse: 0, queued: 1, lastRequestAt: Date.now() });
    await c.tick(Date.now());
    assert.equal(pool('tiny')?.desired, 1);
    assert.match(c.decisions('tiny').at(-1)!.reason, /scale up from zero/);
    await tickUntil(c, () => ready.length === 1, 'the instance to be ready');
    const s = pool('tiny')!;
    assert.equal(s.instances.length, 1);
    assert.equal(s.instances[0]!.state, 'ready-idle');
    assert.equal(s.instances[0]!.url, ready[0]!.url);
    assert.equal((await fetch(`${ready[0]!.url}/ready`)).status, 200);
    for (let i = 0; i < 6; i++) await c.tick(Date.now());
    assert.equal(c.decisions('tiny').length, 5, 'the ring keeps the last 5');
    assert.equal(c.decisions('tiny').at(-1)!.actual, 1);
  });

  it('a deployment whose model does not exist backs off; the other keeps its ready instance', async () => {
    const broken = deployment('broken', 'generative', 'no-such-model', {
      scaling: scaling({ minInstances: 1 }),
    });
    specs = [tiny, broken];
    await tickUntil(c, () => (pool('broken')?.consecutiveFailures ?? 0) >= 2, 'two failures in a row');
    const s = pool('broken')!;
    assert.match(s.lastFailure!.reason, /^exit code 1: instance failed to start.*no-such-model/);
    assert.ok(s.backoffUntil! > s.lastFailure!.at, 'backing off after the last failure');
    assert.equal(
      s.backoffUntil! - s.lastFailure!.at,
      400,
      'the second failure in a row waits twice the base',
    );
    assert.ok(
      c.decisions('broken').some((d) => /start held back until \d+ \(crash loop\)/.test(d.reason)),
      'the decision says why nothing starts',
    );
    const t = pool('tiny')!;
    assert.deepEqual(
      t.instances.map((i) => [i.url, i.state]),
      [[ready[0]!.url, 'ready-idle']],
    );
    assert.equal(ready.length, 1);
  });

  it('a deployment that disappears drains to zero and its pool is dropped', async () => {
    specs = [];
    await tickUntil(c, () => c.status().length === 0, 'both pools to empty');
    assert.match(c.decisions('tiny').at(-1)!.reason, /deployment removed: pool empty/);
    assert.ok(c.decisions('tiny').some((d) => d.reason === 'deployment removed: draining'));
    assert.deepEqual(await provider.list(), []);
  });
});

describe('startControllerLoop', () => {
  it('ticks with the injected clock, one tick at a time, until stopped', async () => {
    const pending: (() => void)[] = [];
    const timers: Timers = {
      setTimeout: (fn) => pending.push(fn),
      clearTimeout: () => pending.splice(0),
    };
    const ticks: number[] = [];
    const controller = {
      tick: async (now: number) => {
        ticks.push(now);
        if (now === 2) throw new Error('tick failed');
      },
    } as unknown as Controller;
    let clock = 0;
    const errors: unknown[] = [];
    const loop = startControllerLoop(controller, {
      intervalMs: 1000,
      timers,
      now: () => ++clock,
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 3; i++) {
      assert.equal(pending.length, 1, 'exactly one tick scheduled');
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(ticks, [1, 2, 3]);
    assert.equal(errors.length, 1, 'a failed tick is reported and the loop goes on');
    await loop.stop();
    assert.equal(pending.length, 0);
  });
});
