// With a Redis URL the platform's shared state is in Redis: a second gateway that only follows the shared
// instance registry routes to the instances the first one's controller brought up (real redis-server).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { followSharedRegistry } from '../../gateway/instances/follow-shared-registry.ts';
import { type RunningGateway, startGateway } from '../../gateway/server/index.ts';
import { createSharedRegistry } from '../../warmpool/index.ts';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { RedisSharedRegistry } from '../../gateway/shared-instance-registry/index.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { deployment } from '../support/platform.ts';

describe('warmgate platform with Redis: a second gateway sees the pool', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let wg: RunningWarmgate;
  let second: RunningGateway;
  const shared = { registry: null as ReturnType<typeof createSharedRegistry> | null };
  const spec = deployment('tiny', 'generative', 'tiny', {
    scaling: { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
  });
  before(async () => {
    redis = await startRedisServer();
    wg = await startWarmgate({ port: 0, tickMs: 100, redisUrl: redis.url, deployments: [spec] });
    // The second gateway shares Redis (deployments, history) and follows the shared instance registry.
    second = await startGateway({ port: 0, redisUrl: redis.url, pollIntervalMs: 100 });
    shared.registry = createSharedRegistry({ redisUrl: redis.url });
    if (shared.registry instanceof RedisSharedRegistry) await shared.registry.connected();
    followSharedRegistry(shared.registry, second.gateway.registry);
  });
  after(async () => {
    await second?.close();
    await shared.registry?.close();
    await wg?.close();
    await redis?.stop();
  });

  it('serves through the second gateway once the first controller has a ready instance', async () => {
    assert.deepEqual(
      second.deployments.list().map((d) => d.name),
      ['tiny'],
      'deployments come from Redis',
    );
    const end = Date.now() + 30_000;
    while (second.gateway.registry.routable('tiny').length === 0) {
      assert.ok(Date.now() < end, 'the second gateway routes to the pool within 30 s of startup');
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await fetch(`${second.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'via the other gateway', max_tokens: 4 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const [inst] = second.gateway.registry.routable('tiny');
    const pool = wg.controller.status().find((s) => s.deployment === 'tiny')!;
    assert.ok(
      pool.instances.some((i) => i.url === inst!.url),
      'the same instance the controller runs',
    );
  });
});
