// The predictive controller over the Azure Functions 2019 trace's timer function, in simulated time: the
// same Controller, request history and demand feed as the platform, a fake provider whose instances are
// ready a declared cold start after they are asked for, and a stand-in for the gateway (requests wait
// while no instance is ready, are served in SERVICE_MS, and are recorded in the history as the gateway
// records them: the arrival when it comes, the rest when it ends). What only real processes show (a real
// cold start, Redis, the gateway) is checked, with margins of seconds, by ../predictive-live.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryHistoryStore } from '../../../gateway/request-history/index.ts';
import { Controller, perInstance, startControllerLoop } from '../../../warmpool/controller/index.ts';
import { MemoryDemandFeed } from '../../../warmpool/demand-feed/index.ts';
import type { PolicyName } from '../../../warmpool/policies/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { FakeProvider } from '../../support/fake-provider.ts';
import { deployment } from '../../support/platform.ts';
import { burstVerdicts, prewarmed, timerBursts } from './timer-trace.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const COMPRESSION = 60; // one trace minute -> one second, as the live test
const BURSTS = 7;
const TICK_MS = 250;
const SERVICE_MS = 100;
const STEP_MS = 50;
/** Declared: within the feed's settle delay (a longer one is checked below). */
const COLD_START_MS = 1000;
const ROUTABLE = new Set(['ready-idle', 'serving']);
const ENDED = new Set(['draining', 'stopped', 'failed']);

/** Replays the trace through a controller deciding with `policy`; returns its burst verdicts. */
async function replay(policy: PolicyName, coldStartMs: number) {
  using clock = new FakeClock(T0);
  const spec = deployment('timer', 'generative', 'tiny', {
    scaling: {
      minInstances: 0,
      maxInstances: 2,
      warmBuffer: 0,
      keepAliveMs: 0,
      ttftSloMs: 1000,
      policy,
      // For costaware: a cold start priced at 1 s of an idle instance, so holding through the ~9 s
      // between bursts is not worth it and the pool must learn the period to be ready for each.
      coldStartCost: 1,
    },
  });
  const store = new MemoryHistoryStore({ clock });
  const provider = new FakeProvider(clock);
  provider.behaviour = () => ({ readyAfterMs: coldStartMs });
  // The gateway stand-in: requests queued (arrival instants) and in flight (arrival, end).
  const queued: number[] = [];
  let inFlight: [number, number][] = [];
  let lastRequestAt: number | undefined;
  const controller = new Controller({
    deployments: () => [spec],
    demand: () => ({
      inUse: Math.ceil(inFlight.length / perInstance(spec)),
      inFlight: inFlight.length,
      queued: queued.length,
      ...(lastRequestAt !== undefined && { lastRequestAt }),
    }),
    provider,
    clock,
    feed: new MemoryDemandFeed({ store }),
    tickMs: TICK_MS,
    capacityOf: perInstance,
    pool: { drainTimeoutMs: 10_000 },
  });
  const loop = startControllerLoop(controller, { intervalMs: TICK_MS, clock });
  const instances = () => controller.status().find((p) => p.deployment === 'timer')?.instances ?? [];

  const live: [number, number][] = [];
  const readyAt = new Map<string, number>();
  const step = () => {
    const now = clock.now();
    for (const [at] of inFlight.filter(([, end]) => end <= now))
      store.recordEnd({ model: 'timer', at, promptTokens: 1, outputTokens: 2, ttftMs: 10, outcome: 'ok' });
    inFlight = inFlight.filter(([, end]) => end > now);
    const pool = instances();
    if (pool.some((i) => ROUTABLE.has(i.state)))
      for (const at of queued.splice(0)) inFlight.push([at, now + SERVICE_MS]);
    else if (queued.length > 0) loop.kick(); // a request waits at zero: the gateway kicks the controller
    live.push([now, pool.filter((i) => !ENDED.has(i.state)).length]);
    for (const i of pool) if (i.readyAt !== undefined) readyAt.set(i.id, i.readyAt);
  };
  clock.setInterval(step, STEP_MS);

  const arrivals = (await timerBursts(BURSTS, COMPRESSION)).map((b) => b.map((ms) => T0 + 500 + ms));
  for (const at of arrivals.flat())
    clock.setTimeout(() => {
      store.recordArrival('timer', at);
      queued.push(at);
      lastRequestAt = at;
      step();
    }, at - T0);
  await clock.advanceTo(arrivals.at(-1)!.at(-1)! + 5000);
  await loop.stop();
  const unserved = queued.length + inFlight.length;
  const decisions = controller.decisions('timer').map((d) => `${d.at - T0} ${d.desired} ${d.reason}`);
  await controller.close();
  return { verdicts: burstVerdicts(arrivals, 3, live, readyAt.values(), 1000), unserved, decisions };
}

describe('predictive controller over the timer trace, in simulated time', () => {
  it('has an instance ready before each burst from the 5th, none between them', async () => {
    const { verdicts, unserved, decisions } = await replay('predictive', COLD_START_MS);
    assert.equal(unserved, 0, 'every call served');
    // Four bursts give the three onset gaps a short period is found from (short-period.ts): the 5th is
    // the first it can be ready for.
    assert.deepEqual(
      verdicts.slice(1).map(prewarmed),
      [true, true, true],
      `bursts 5-${BURSTS}: ${JSON.stringify(verdicts)}\n${decisions.slice(-20).join('\n')}`,
    );
  });

  // The feed reads each second once, a settle delay (1 s) after it closes. Requests that wait out a
  // longer cold start are still in flight then: they are in that second because the gateway counts an
  // arrival when it comes (recorded only when they ended, they were never seen and no period was found).
  it("learns the period when cold starts outlast the history feed's settle delay", async () => {
    const { verdicts, unserved } = await replay('predictive', 3000);
    assert.equal(unserved, 0, 'every call served');
    assert.deepEqual(verdicts.slice(1).map(prewarmed), [true, true, true], JSON.stringify(verdicts));
  });

  it('the costaware policy, a cold start priced at 1 s, also has an instance ready before each', async () => {
    const { verdicts, unserved } = await replay('costaware', COLD_START_MS);
    assert.equal(unserved, 0);
    assert.deepEqual(verdicts.slice(1).map(prewarmed), [true, true, true], JSON.stringify(verdicts));
  });

  it('the reactive policy fails the same check: it starts an instance only once a burst has come', async () => {
    const { verdicts, unserved } = await replay('reactive', COLD_START_MS);
    assert.equal(unserved, 0);
    assert.deepEqual(verdicts.slice(1).map(prewarmed), [false, false, false], JSON.stringify(verdicts));
  });
});
