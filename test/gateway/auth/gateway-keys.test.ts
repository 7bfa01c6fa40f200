// API keys through real gateways over HTTP: two replicas on one real redis-server share keys, their
// revocation and their limits; the admin API manages keys and is never open.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { deployment } from '../../support/platform.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

const TOKEN = 'keys-admin-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ErrorBody {
  error: { code: string; message: string; type: string; param: string | null };
}
interface CreatedKey {
  id: string;
  key: string;
  name: string;
  prefix: string;
  revoked_at: string | null;
  limits: Record<string, number>;
}

async function admin(base: string, method: string, path: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${base}/admin/v1${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

async function createKey(base: string, body: unknown): Promise<CreatedKey> {
  const r = await admin(base, 'POST', '/keys', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as CreatedKey;
}

const get = (base: string, path: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { headers });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  const body = (await res.json()) as ErrorBody;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code, JSON.stringify(body));
  return body;
}

describe('API keys across gateway replicas', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let a: RunningGateway;
  let b: RunningGateway;

  before(async () => {
    redis = await startRedisServer();
    const options = {
      port: 0,
      redisUrl: redis.url,
      adminToken: TOKEN,
      apiKeys: 'required' as const,
      deploymentsResyncMs: 200,
      limits: { queueTimeoutMs: 200 },
    };
    a = await startGateway({
      ...options,
      deployments: [
        deployment('open', 'generative', 'tiny', { scaling: { ...scaling() } }),
        deployment('locked', 'generative', 'tiny', { scaling: scaling() }),
        deployment('locked-tensor', 'tensor', 'classifier', { scaling: scaling() }),
      ],
    });
    b = await startGateway(options);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('the admin API refuses a missing or wrong token, on key routes too', async () => {
    for (const token of ['', 'wrong']) {
      for (const [method, path] of [
        ['GET', '/keys'],
        ['POST', '/keys'],
        ['DELETE', '/keys/0123456789ab'],
      ]) {
        const r = await admin(a.url, method!, path!, method === 'POST' ? { name: 'x' } : undefined, token);
        assert.equal(r.status, 401, `${method} ${path} with ${token || 'no token'}`);
        assert.equal((r.body as ErrorBody).error.code, 'unauthorized');
      }
    }
    assert.equal((await admin(a.url, 'GET', '/keys')).status, 200);
  });

  it('creates a key once with its secret; lists and reads never show a secret or a hash', async () => {
    const created = await createKey(a.url, { name: 'reader', limits: { requestsPerSecond: 50 } });
    assert.match(created.key, /^wg_[0-9a-f]{12}_/);
    assert.equal(created.prefix, `wg_${created.id}_`);
    assert.deepEqual(created.limits, { requestsPerSecond: 50 });
    const one = await admin(b.url, 'GET', `/keys/${created.id}`);
    assert.equal(one.status, 200, 'a key made on one replica is read on the other');
    const list = await admin(b.url, 'GET', '/keys');
    const text = JSON.stringify(list.body) + JSON.stringify(one.body);
    assert.ok(text.includes(created.id));
    assert.ok(!text.includes(created.key.slice(20)), 'no secret');
    assert.ok(!/"hash"|[0-9a-f]{64}/.test(text), 'no hash');
    assert.deepEqual(Object.keys(one.body as object).sort(), [
      'created_at',
      'id',
      'limits',
      'name',
      'prefix',
      'revoked_at',
    ]);
  });

  it('key bodies are checked with stable codes; unknown ids are 404', async () => {
    const cases: [unknown, string | null][] = [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'x', limits: { requestsPerSecond: 0 } }, 'limits.requestsPerSecond'],
      [{ name: 'x', limits: { tokensPerDay: 1.5 } }, 'limits.tokensPerDay'],
      [{ name: 'x', limits: { maxStreams: 3 } }, 'limits.maxStreams'],
      [{ name: 'x', limits: { burst: 3 } }, 'limits.burst'],
      [{ name: 'x', secret: 'mine' }, 'secret'],
      [[], null],
    ];
    for (const [body, param] of cases) {
      const r = await admin(a.url, 'POST', '/keys', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      const e = (r.body as ErrorBody).error;
      assert.equal(e.code, 'api_key_spec_invalid');
      if (param !== null) assert.equal(e.param, param, e.message);
    }
    for (const method of ['GET', 'DELETE']) {
      const r = await admin(a.url, method, '/keys/0123456789ab');
      assert.equal(r.status, 404);
      assert.equal((r.body as ErrorBody).error.code, 'api_key_not_found');
    }
  });

  it('the public API needs a key, in any of the headers OpenAI and Azure clients send', async () => {
    const { key } = await createKey(a.url, { name: 'headers' });
    const missing = await get(a.url, '/v1/models');
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    await expectError(missing, 401, 'api_key_missing');
    await expectError(await get(a.url, '/v1/models', bearer('wg_0123456789ab_nope')), 401, 'api_key_invalid');
    await expectError(
      await get(a.url, '/v1/models', { authorization: `Basic ${key}` }),
      401,
      'api_key_invalid',
    );
    const v2 = await get(a.url, '/v2/models/locked-tensor');
    assert.equal(v2.status, 401);
    assert.equal(((await v2.json()) as { code: string }).code, 'api_key_missing', 'in the KServe v2 shape');
    for (const headers of [bearer(key), { 'api-key': key }, { 'x-api-key': key }] as Record<
      string,
      string
    >[]) {
      for (const gw of [a, b]) {
        const res = await get(gw.url, '/v1/models', headers);
        assert.equal(res.status, 200, JSON.stringify(headers));
        await res.body?.cancel();
      }
    }
    for (const path of ['/live', '/ready', '/health', '/metrics', '/v2/health/live']) {
      const res = await get(a.url, path);
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
  });

  it('a key revoked on one replica is refused on the other (which had it cached)', async () => {
    const { id, key } = await createKey(a.url, { name: 'to-revoke' });
    const before = await get(b.url, '/v1/models', bearer(key));
    assert.equal(before.status, 200);
    await before.body?.cancel();
    const revoked = await admin(a.url, 'DELETE', `/keys/${id}`);
    assert.equal(revoked.status, 200);
    assert.notEqual((revoked.body as CreatedKey).revoked_at, null);
    const end = Date.now() + 5_000;
    for (;;) {
      const res = await get(b.url, '/v1/models', bearer(key));
      if (res.status === 401) {
        await expectError(res, 401, 'api_key_revoked');
        break;
      }
      await res.body?.cancel();
      assert.ok(Date.now() < end, 'refused on the other replica within 5 s');
      await sleep(50);
    }
    await expectError(await get(a.url, '/v1/models', bearer(key)), 401, 'api_key_revoked');
    const listed = (await admin(b.url, 'GET', '/keys')).body as { keys: CreatedKey[] };
    assert.notEqual(listed.keys.find((k) => k.id === id)?.revoked_at, null);
  });

  it('two replicas share a key’s rate: what one admitted the other refuses, 429 with Retry-After', async () => {
    const { key } = await createKey(a.url, { name: 'slow', limits: { requestsPerSecond: 0.1, burst: 2 } });
    for (const gw of [a, b]) {
      const res = await get(gw.url, '/v1/models', bearer(key));
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    for (const gw of [b, a]) {
      const res = await get(gw.url, '/v1/models', bearer(key));
      const body = await expectError(res, 429, 'rate_limit_exceeded');
      assert.equal(body.error.type, 'rate_limit_error');
      const after = Number(res.headers.get('retry-after'));
      assert.ok(Number.isInteger(after) && after >= 1 && after <= 10, `Retry-After ${after}`);
    }
    // Another key is not affected.
    const { key: other } = await createKey(b.url, { name: 'other' });
    assert.equal((await get(a.url, '/v1/models', bearer(other))).status, 200);
  });

  it('a deployment restricted to keys: others get 403 and do not see it in /v1/models', async () => {
    const allowed = await createKey(a.url, { name: 'allowed' });
    const other = await createKey(a.url, { name: 'not-allowed' });
    for (const name of ['locked', 'locked-tensor']) {
      const spec = deployment(
        name,
        name === 'locked' ? 'generative' : 'tensor',
        name === 'locked' ? 'tiny' : 'classifier',
        {
          scaling: scaling(),
          allowedKeys: [allowed.id],
        },
      );
      assert.equal((await admin(a.url, 'PUT', `/deployments/${name}`, spec)).status, 200);
    }
    const refusedSpec = await admin(a.url, 'PUT', '/deployments/locked', {
      ...deployment('locked', 'generative', 'tiny'),
      allowedKeys: ['not a key id'],
    });
    assert.equal(refusedSpec.status, 400);
    assert.equal((refusedSpec.body as ErrorBody).error.param, 'allowedKeys.0');

    const models = async (gw: RunningGateway, key: string) =>
      ((await (await get(gw.url, '/v1/models', bearer(key))).json()) as { data: { id: string }[] }).data
        .map((m) => m.id)
        .sort();
    assert.deepEqual(await models(a, allowed.key), ['locked', 'open']);
    assert.deepEqual(await models(a, other.key), ['open']);
    const end = Date.now() + 5_000;
    while ((await models(b, other.key)).includes('locked')) {
      assert.ok(Date.now() < end, 'the other replica picks up the restriction');
      await sleep(50);
    }

    const post = (gw: RunningGateway, path: string, key: string, body: unknown) =>
      fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { ...bearer(key), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const completion = { model: 'locked', prompt: 'hi', max_tokens: 2 };
    const chat = { model: 'locked', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 };
    for (const gw of [a, b]) {
      await expectError(await post(gw, '/v1/completions', other.key, completion), 403, 'model_forbidden');
      await expectError(await post(gw, '/v1/chat/completions', other.key, chat), 403, 'model_forbidden');
      await expectError(
        await post(gw, '/v1/functions/locked', other.key, { prompt: 'hi' }),
        403,
        'model_forbidden',
      );
      await expectError(await get(gw.url, '/v1/models/locked', bearer(other.key)), 403, 'model_forbidden');
      const v2 = await get(gw.url, '/v2/models/locked-tensor', bearer(other.key));
      assert.equal(v2.status, 403);
      assert.equal(((await v2.json()) as { code: string }).code, 'model_forbidden');
    }
    // The allowed key passes the check: with no instance running it waits and times out (503), not 403.
    const waited = await post(a, '/v1/completions', allowed.key, completion);
    await expectError(waited, 503, 'no_capacity');
    assert.equal((await get(a.url, '/v1/models/locked', bearer(allowed.key))).status, 200);
    // An open deployment takes every key.
    assert.equal((await get(a.url, '/v1/models/open', bearer(other.key))).status, 200);

    const metrics = await (await get(a.url, '/metrics')).text();
    assert.match(metrics, /warmgate_gateway_auth_refusals_total\{code="model_forbidden"\} [1-9]/);
  });
});

function scaling() {
  return { minInstances: 0, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 };
}
