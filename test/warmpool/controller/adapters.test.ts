// The controller with adapter deployments, over a fake provider (no instance processes: the live test,
// test/warmpool/adapters-live.test.ts, runs real ones) and a real in-memory request history read
// through the demand feed: adapters get no pool, and the base's history sums its adapters' arrivals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { MemoryHistoryStore } from '../../../gateway/request-history/index.ts';
import { Controller } from '../../../warmpool/controller/index.ts';
import { MemoryDemandFeed } from '../../../warmpool/demand-feed/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { FakeProvider } from '../../support/fake-provider.ts';
import { deployment } from '../../support/platform.ts';

const T0 = 1_000_000_020_000;

const adapter = (name: string, base: string): DeploymentSpec => ({
  ...deployment(name, 'generative', 'unused'),
  kind: 'adapter',
  base,
  model: { path: `/adapters/${name}` },
});

describe('the controller with adapters (fake provider)', () => {
  it("gives adapters no pool and sums their arrivals into their base's history", async () => {
    using clock = new FakeClock(T0);
    const store = new MemoryHistoryStore({ clock });
    const feed = new MemoryDemandFeed({ store });
    const base = deployment('base', 'generative', 'tiny', { runtime: { adapters: { slots: 2 } } });
    const other = deployment('other', 'generative', 'tiny');
    const specs = [base, other, adapter('a1', 'base'), adapter('a2', 'base')];
    const c = new Controller({
      deployments: () => specs,
      demand: () => ({ inUse: 0, queued: 0 }),
      provider: new FakeProvider(clock),
      clock,
      feed,
    });
    for (const [name, at] of [
      ['base', T0 - 30_000],
      ['a1', T0 - 20_000],
      ['a1', T0 - 20_000],
      ['a2', T0 - 10_000],
      ['other', T0 - 10_000],
    ] as const)
      store.recordArrival(name, at);
    await c.tick(T0);
    assert.deepEqual(
      c
        .status()
        .map((s) => s.deployment)
        .sort(),
      ['base', 'other'],
    );
    assert.equal(feed.history('base')!.totalArrivals, 4, 'the base and both adapters');
    assert.equal(feed.history('other')!.totalArrivals, 1);
    assert.equal(feed.history('a1')!.totalArrivals, 2, "each adapter's own, for preloading");
    // An adapter deleted: its own history is dropped, what it brought to the base stays.
    specs.pop();
    await clock.advanceTo(T0 + 1000);
    await c.tick(T0 + 1000);
    assert.equal(feed.history('a2'), undefined);
    assert.equal(feed.history('base')!.totalArrivals, 4);
    await c.close();
  });
});
