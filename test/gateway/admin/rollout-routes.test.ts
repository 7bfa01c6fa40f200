// The rollout routes over a deployment store in a real redis-server, with two registries on it as two
// gateway replicas: a step taken through one reaches the other, and a redeploy keeps the history.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { adminRoutes } from '../../../gateway/admin/index.ts';
import { DeploymentRegistry, RedisDeploymentStore } from '../../../gateway/deployments/index.ts';
import { apiErrorHandler } from '../../../gateway/errors/index.ts';
import { MemoryVersionStats } from '../../../gateway/rollouts/index.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

const AUTH = { authorization: 'Bearer t', 'content-type': 'application/json' };
const CHAT = {
  name: 'chat',
  kind: 'generative',
  model: { path: '/m/1' },
  versions: [{ version: 2, model: { path: '/m/2' } }],
};

describe('rollout routes over Redis', { timeout: 30_000 }, () => {
  let server: RedisServer;
  const stores: RedisDeploymentStore[] = [];
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await server?.stop();
  });
  const replica = async () => {
    const store = new RedisDeploymentStore({ url: server.url, keyPrefix: 'wg:rollout:' });
    stores.push(store);
    const registry = await DeploymentRegistry.open(store);
    const rollouts = { stats: new MemoryVersionStats(), ready: () => true, now: () => 1_000 };
    const app = new Hono()
      .route('/admin/v1', adminRoutes(registry, { token: 't', rollouts }))
      .onError(apiErrorHandler('openai'));
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(`/admin/v1/deployments${path}`, {
        method,
        headers: AUTH,
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    return { registry, call };
  };

  it('a step through one replica reaches the other; a redeploy keeps the history', async () => {
    const a = await replica();
    const b = await replica();
    assert.equal((await a.call('PUT', '/chat', CHAT)).status, 201);
    const step = await a.call('POST', '/chat/rollout', { to: 2, weight: 30 });
    assert.equal(step.status, 200, JSON.stringify(step.body));
    await b.registry.resync();
    assert.deepEqual(b.registry.get('chat')?.traffic, [
      { version: 1, weight: 70 },
      { version: 2, weight: 30 },
    ]);
    const promoted = await b.call('POST', '/chat/promote');
    assert.equal(promoted.body.stable, 2);
    // Redeployed from the file, version 1 dropped: the history stays, so version 1 reads as retired.
    const file = { ...CHAT, version: 2, model: { path: '/m/2' }, versions: [] };
    await a.registry.resync(); // replicas follow each other every second; here at once
    assert.equal((await a.call('PUT', '/chat', file)).status, 200);
    const view = await a.call('GET', '/chat/rollout');
    assert.deepEqual(
      (view.body.history as { action: string }[]).map((e) => e.action),
      ['rollout', 'promote'],
    );
    const retired = await a.call('POST', '/chat/rollout', { to: 1, weight: 10 });
    assert.equal(retired.status, 410);
    assert.equal((retired.body.error as { code: string }).code, 'version_retired');
    const unknown = await a.call('POST', '/chat/rollout', { to: 9, weight: 10 });
    assert.equal(unknown.status, 404);
  });

  it('refuses a split that does not add up, naming the field', async () => {
    const a = await replica();
    const bad = await a.call('PUT', '/chat', {
      ...CHAT,
      traffic: [
        { version: 1, weight: 90 },
        { version: 2, weight: 20 },
      ],
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      [(bad.body.error as { code: string }).code, (bad.body.error as { param: string }).param],
      ['deployment_invalid', 'traffic'],
    );
  });
});
