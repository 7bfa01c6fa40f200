// The controller's loop (observe, decide, act, record) over a fake provider in simulated time: every
// tick and every instance event happens at a named instant. The same controller over real instance
// processes runs in the platform's live tests (test/warmpool/platform*.test.ts, *-live.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { Controller, type Demand, startControllerLoop } from '../../../warmpool/controller/index.ts';
import type { ProviderInstance } from '../../../warmpool/providers/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { FakeProvider } from '../../support/fake-provider.ts';
import { deployment } from '../../support/platform.ts';

const T0 = 1_000_000;
const TICK_MS = 500;
const COLD_START_MS = 1500;

const scaling = (o: Partial<DeploymentSpec['scaling']>): DeploymentSpec['scaling'] => ({
  minInstances: 0,
  maxInstances: 2,
  warmBuffer: 0,
  keepAliveMs: 60_000,
  ttftSloMs: 1000,
  ...o,
});
const tiny = deployment('tiny', 'generative', 'tiny', { scaling: scaling({}) });
const broken = deployment('broken', 'generative', 'no-such-model', { scaling: scaling({ minInstances: 1 }) });

/**
 * A controller over a fake provider: `tiny`'s instances are ready 1.5 s after their start, `broken`'s
 * exit 300 ms after theirs as a runtime does that finds no model. Ids are `i-1`, `i-2`, … in start order.
 */
function setUp(clock: FakeClock) {
  const provider = new FakeProvider(clock);
  provider.behaviour = ({ deployment: d }) =>
    d.name === 'broken'
      ? { failAfterMs: 300, stderrTail: 'loading\ninstance failed to start: no model at no-such-model\n' }
      : { readyAfterMs: COLD_START_MS };
  const ready: ProviderInstance[] = [];
  const demand = new Map<string, Demand>();
  const spec = { list: [] as DeploymentSpec[] };
  let n = 0;
  const c = new Controller({
    deployments: () => spec.list,
    demand: (d) => demand.get(d.name) ?? { inUse: 0, queued: 0 },
    provider,
    clock,
    decisionsKept: 5,
    pool: {
      drainTimeoutMs: 10_000,
      backoff: { baseMs: 200, maxMs: 60_000 },
      hooks: { onReady: (i) => ready.push(i) },
      newId: () => `i-${++n}`,
    },
  });
  const pool = (name: string) => c.status().find((s) => s.deployment === name);
  const tick = async (at: number) => {
    await clock.advanceTo(at);
    await c.tick(at);
  };
  return { provider, ready, demand, spec, c, pool, tick };
}

describe('Controller over a fake provider, in simulated time', () => {
  it('scales from 0 to 1 when demand appears; the instance becomes ready-idle and onReady gets its URL', async () => {
    using clock = new FakeClock(T0);
    const { provider, ready, demand, spec, c, pool, tick } = setUp(clock);
    spec.list = [tiny];
    await tick(T0);
    assert.equal(pool('tiny')?.desired, 0);
    assert.deepEqual(pool('tiny')?.instances, []);
    assert.deepEqual(c.decisions('tiny'), [
      {
        at: T0,
        deployment: 'tiny',
        desired: 0,
        actual: 0,
        reason: 'scale to zero: idle, keep-alive expired (inUse 0, queued 0, min 0, buffer 0, max 2)',
        demand: { inUse: 0, queued: 0 },
      },
    ]);

    demand.set('tiny', { inUse: 0, queued: 1, lastRequestAt: T0 + 100 });
    await tick(T0 + 100);
    assert.equal(pool('tiny')?.desired, 1);
    assert.deepEqual(provider.started, ['i-1']);
    assert.equal(
      c.decisions('tiny').at(-1)!.reason,
      'scale up from zero: max(min, demand + buffer) = 1 (inUse 0, queued 1, min 0, buffer 0, max 2)',
    );
    for (let at = T0 + 100 + TICK_MS; at < T0 + 100 + COLD_START_MS; at += TICK_MS) {
      await tick(at);
      assert.equal(ready.length, 0, `not ready at ${at - T0}`);
      assert.equal(pool('tiny')!.instances[0]!.state, 'starting');
    }
    demand.set('tiny', { inUse: 1, queued: 0, lastRequestAt: T0 + 100 });
    await tick(T0 + 100 + COLD_START_MS);
    const s = pool('tiny')!;
    assert.equal(s.instances.length, 1);
    assert.equal(s.instances[0]!.state, 'ready-idle');
    assert.equal(s.instances[0]!.readyAt, T0 + 100 + COLD_START_MS);
    assert.equal(s.instances[0]!.coldStartMs, COLD_START_MS);
    assert.deepEqual(
      ready.map((i) => i.url),
      ['http://fake/i-1'],
    );
    assert.equal(s.instances[0]!.url, ready[0]!.url);

    for (let k = 1; k <= 6; k++) await tick(T0 + 100 + COLD_START_MS + k * TICK_MS);
    const kept = c.decisions('tiny');
    assert.equal(kept.length, 5, 'the ring keeps the last 5');
    assert.deepEqual(
      kept.map((d) => [d.at, d.desired, d.actual]),
      [2, 3, 4, 5, 6].map((k) => [T0 + 100 + COLD_START_MS + k * TICK_MS, 1, 1]),
    );
    assert.deepEqual(provider.started, ['i-1'], 'one instance throughout');
  });

  it('a deployment whose model does not exist backs off; the other keeps its ready instance', async () => {
    const IDLE_AT_MIN_1 = 'idle: max(min, buffer) = 1 (inUse 0, queued 0, min 1, buffer 0, max 2)';
    using clock = new FakeClock(T0);
    const { provider, ready, spec, c, pool, tick } = setUp(clock);
    const warm = deployment('tiny', 'generative', 'tiny', { scaling: scaling({ minInstances: 1 }) });
    spec.list = [warm];
    await tick(T0);
    await tick(T0 + COLD_START_MS);
    assert.equal(pool('tiny')!.instances[0]!.state, 'ready-idle');

    spec.list = [warm, broken];
    await tick(T0 + 2000); // i-2 starts, and exits 300 ms later
    assert.deepEqual(provider.started, ['i-1', 'i-2']);
    await tick(T0 + 2500); // seen gone: the first failure in a row holds starts back for the base, 200 ms
    let s = pool('broken')!;
    assert.equal(s.consecutiveFailures, 1);
    assert.deepEqual(s.lastFailure, {
      at: T0 + 2500,
      instanceId: 'i-2',
      reason: 'exit code 1: instance failed to start: no model at no-such-model',
    });
    assert.equal(s.backoffUntil, T0 + 2700);
    assert.deepEqual(
      c.decisions('broken').map((d) => [d.at, d.desired, d.actual, d.reason]),
      [
        [T0 + 2000, 1, 0, IDLE_AT_MIN_1],
        [T0 + 2500, 1, 1, `${IDLE_AT_MIN_1}; start held back until ${T0 + 2700} (crash loop)`],
      ],
      'the decision says why nothing starts',
    );
    assert.deepEqual(provider.started, ['i-1', 'i-2'], 'nothing started while held back');

    await tick(T0 + 3000); // the backoff is over: i-3 starts
    assert.equal(pool('broken')!.backoffUntil, undefined);
    assert.deepEqual(provider.started, ['i-1', 'i-2', 'i-3']);
    await tick(T0 + 3500);
    s = pool('broken')!;
    assert.equal(s.consecutiveFailures, 2);
    assert.equal(s.lastFailure!.at, T0 + 3500);
    assert.equal(
      s.backoffUntil! - s.lastFailure!.at,
      400,
      'the second failure in a row waits twice the base',
    );
    assert.match(
      c.decisions('broken').at(-1)!.reason,
      new RegExp(`; start held back until ${T0 + 3900} \\(crash loop\\)$`),
    );

    assert.deepEqual(
      pool('tiny')!.instances.map((i) => [i.id, i.url, i.state]),
      [['i-1', ready[0]!.url, 'ready-idle']],
    );
    assert.equal(ready.length, 1);
  });

  it('a deployment that disappears drains to zero and its pool is dropped', async () => {
    using clock = new FakeClock(T0);
    const { provider, demand, spec, c, tick } = setUp(clock);
    spec.list = [tiny];
    demand.set('tiny', { inUse: 1, queued: 0, lastRequestAt: T0 });
    await tick(T0);
    await tick(T0 + COLD_START_MS);
    provider.busyUntil('i-1', T0 + 5000); // a request in flight until then

    spec.list = [];
    await tick(T0 + 2000);
    assert.deepEqual(provider.stopped, ['i-1']);
    assert.deepEqual(
      c
        .decisions('tiny')
        .slice(-1)
        .map((d) => [d.at, d.desired, d.actual, d.reason]),
      [[T0 + 2000, 0, 1, 'deployment removed: draining']],
    );
    assert.equal(c.status().length, 1, 'the pool stays while its instance drains');
    await tick(T0 + 4500);
    assert.deepEqual(
      c.status()[0]!.instances.map((i) => i.state),
      ['draining'],
    );
    await tick(T0 + 5000);
    assert.deepEqual(c.status(), []);
    assert.deepEqual(
      c
        .decisions('tiny')
        .slice(-1)
        .map((d) => [d.at, d.desired, d.actual, d.reason]),
      [[T0 + 5000, 0, 0, 'deployment removed: pool empty']],
    );
    assert.deepEqual(await provider.list(), []);
  });
});

describe('startControllerLoop', () => {
  it('ticks at the clock’s instants, one tick at a time, until stopped', async () => {
    using clock = new FakeClock(T0);
    const ticks: number[] = [];
    const errors: unknown[] = [];
    const loop = startControllerLoop(
      {
        tick: async (now: number) => {
          ticks.push(now);
          if (now === T0 + 1000) throw new Error('tick failed');
        },
      },
      { intervalMs: 1000, clock, onError: (e) => errors.push(e) },
    );
    assert.equal(clock.pending, 1, 'exactly one tick scheduled');
    await clock.advance(2999);
    assert.deepEqual(ticks, [T0, T0 + 1000, T0 + 2000]);
    assert.equal(clock.pending, 1, 'exactly one tick scheduled');
    assert.equal(clock.nextAt, T0 + 3000);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['tick failed'],
      'a failed tick is reported and the loop goes on',
    );
    await loop.stop();
    assert.equal(clock.pending, 0);
    await clock.advance(10_000);
    assert.deepEqual(ticks, [T0, T0 + 1000, T0 + 2000]);
  });

  it('kick() ticks at once and the next tick comes an interval after it', async () => {
    using clock = new FakeClock(T0);
    const ticks: number[] = [];
    const loop = startControllerLoop(
      { tick: async (now) => void ticks.push(now) },
      { intervalMs: 1000, clock },
    );
    await clock.advance(300);
    loop.kick();
    await clock.advance(0);
    assert.deepEqual(ticks, [T0, T0 + 300]);
    assert.equal(clock.nextAt, T0 + 1300);
    await loop.stop();
  });

  it('a tick that runs long delays the next: ticks never overlap', async () => {
    using clock = new FakeClock(T0);
    const spans: [number, number][] = [];
    const loop = startControllerLoop(
      {
        tick: async (now) => {
          await new Promise<void>((r) => clock.setTimeout(r, 700)); // the tick takes 700 ms
          spans.push([now, clock.now()]);
        },
      },
      { intervalMs: 500, clock },
    );
    await clock.advance(2400); // the third tick starts at T0 + 2.4 s
    assert.deepEqual(spans, [
      [T0, T0 + 700],
      [T0 + 1200, T0 + 1900],
    ]);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await clock.advance(699);
    assert.equal(stopped, false, 'stop() waits for the tick in progress');
    await clock.advance(1);
    await stopping;
    assert.deepEqual(spans.at(-1), [T0 + 2400, T0 + 3100]);
    assert.equal(clock.pending, 0, 'and schedules no other');
  });
});
