// What a gateway requiring keys does while its Redis is down: known keys keep working from the cache,
// limits fail open (counted), unknown keys are refused with 503, key admin answers 503.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newApiKey } from '../../../gateway/auth/index.ts';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

const TOKEN = 'outage-admin-token';

describe('API keys while Redis is down', { timeout: 30_000 }, () => {
  let redis: RedisServer;
  let gw: RunningGateway;
  const warnings: string[] = [];
  const warn = console.warn;

  before(async () => {
    redis = await startRedisServer();
    gw = await startGateway({ port: 0, redisUrl: redis.url, adminToken: TOKEN, apiKeys: 'required' });
    console.warn = (m: string) => void warnings.push(String(m));
  });
  after(async () => {
    console.warn = warn;
    await gw?.close();
    await redis?.stop();
  });

  const models = (key: string) =>
    fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });

  it('serves known keys from the cache, fails open on limits, refuses keys it cannot check', async () => {
    const created = await fetch(`${gw.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'seen', limits: { requestsPerSecond: 0.01, burst: 1 } }),
    });
    assert.equal(created.status, 201);
    const { key } = (await created.json()) as { key: string };
    assert.equal((await models(key)).status, 200);
    assert.equal((await models(key)).status, 429, 'the bucket is empty');

    await redis.stop();
    const during = await models(key);
    assert.equal(during.status, 200, 'a known key works, its limit fails open');
    await during.body?.cancel();
    const unknown = await models(newApiKey().key);
    assert.equal(unknown.status, 503);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'auth_unavailable');
    assert.equal(unknown.headers.get('retry-after'), '1');
    const admin = await fetch(`${gw.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(admin.status, 503);
    assert.equal(((await admin.json()) as { error: { code: string } }).error.code, 'admin_store_unavailable');

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /warmgate_gateway_limiter_fail_open_total [1-9]/);
    assert.ok(
      warnings.some((w) => /letting requests in/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(!warnings.some((w) => w.includes(key.slice(16))), 'no secret in the logs');
    await redis.restart();
  });
});
