import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { followSharedRegistry } from '../../../gateway/instances/follow-shared-registry.ts';
import { startGateway, type RunningGateway } from '../../../gateway/server/index.ts';
import { launchInstance, type LaunchedInstance } from '../../../runtime/instance/launch.ts';
import {
  MemorySharedRegistry,
  RedisSharedRegistry,
  type InstanceEntry,
} from '../../../gateway/shared-instance-registry/index.ts';
import { deployment, MODELS } from '../../support/platform.ts';
import { clockReading } from '../../support/clock-reading.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

// The acceptance says gateways see a change within 1 s; the waits allow 1 s more for scheduling on a
// busy 2-core machine. A change that never arrives fails at that bound.
const BOUND_MS = 1000 + 1000;

async function within(what: string, boundMs: number, check: () => boolean): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`${what}: not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function complete(gw: RunningGateway): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', prompt: 'hello ', max_tokens: 4 }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function assertNoCapacity(r: { status: number; body: Record<string, unknown> }): void {
  assert.equal(r.status, 503);
  assert.equal((r.body.error as { code?: string }).code, 'no_capacity');
}

describe('a gateway following the shared instance registry', () => {
  let redis: RedisServer;
  let instance: LaunchedInstance;
  let gw: RunningGateway;
  before(async () => {
    [redis, instance] = await Promise.all([
      startRedisServer(),
      launchInstance({
        model: `${MODELS}tiny`,
        kind: 'generative',
        args: ['--intra-op-threads', '1', '--kv-mb', '8'],
      }),
    ]);
    gw = await startGateway({
      port: 0,
      deployments: [deployment('tiny', 'generative', 'tiny')],
      limits: { queueTimeoutMs: 300 },
      pollIntervalMs: 100,
    });
  });
  after(async () => {
    await gw?.close();
    await instance?.stop();
    await redis?.stop();
  });

  it('routes to an instance published ready (through Redis) and stops when it is published draining', async () => {
    const controller = new RedisSharedRegistry({ url: redis.url });
    const shared = new RedisSharedRegistry({ url: redis.url });
    const follower = followSharedRegistry(shared, gw.gateway.registry);
    try {
      await Promise.all([controller.connected(), shared.connected()]);
      assertNoCapacity(await complete(gw)); // nothing published yet
      const ready: InstanceEntry = {
        id: 'tiny-a',
        deployment: 'tiny',
        url: instance.url,
        state: 'ready',
        updatedAt: Date.now(),
      };
      await controller.publish(ready);
      await within(
        'ready instance routable',
        BOUND_MS,
        () => gw.gateway.registry.routable('tiny').length === 1,
      );
      const ok = await complete(gw);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(typeof (ok.body.choices as { text: unknown }[])[0]!.text, 'string');

      // The process itself still answers /ready: only the published state takes it out of routing.
      await controller.publish({ ...ready, state: 'draining', updatedAt: Date.now() });
      await within(
        'draining instance removed',
        BOUND_MS,
        () => gw.gateway.registry.instances('tiny').length === 0,
      );
      assertNoCapacity(await complete(gw));
    } finally {
      await follower.close();
      await controller.close();
      await shared.close();
    }
  });

  it('keeps an instance whose entry expired while it answers, and drops it once unreachable', async () => {
    let clock = Date.now();
    const shared = new MemorySharedRegistry({
      ttlMs: 10_000,
      sweepIntervalMs: 0,
      clock: clockReading(() => clock),
    });
    const follower = followSharedRegistry(shared, gw.gateway.registry, { orphanCheckMs: 50 });
    try {
      await shared.publish({
        id: 'tiny-b',
        deployment: 'tiny',
        url: instance.url,
        state: 'ready',
        updatedAt: clock,
      });
      await within(
        'ready instance routable',
        BOUND_MS,
        () => gw.gateway.registry.routable('tiny').length === 1,
      );
      clock += 10_001; // the controller went quiet
      await shared.sync();
      assert.deepEqual(shared.list(), []);
      assert.equal((await complete(gw)).status, 200);
      assert.equal(gw.gateway.registry.instances('tiny').length, 1);

      await instance.stop();
      // Polls every 100 ms find it unreachable; the follower's next check takes it out.
      await within(
        'unreachable orphan removed',
        BOUND_MS,
        () => gw.gateway.registry.instances('tiny').length === 0,
      );
    } finally {
      await follower.close();
      await shared.close();
    }
  });
});
