import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { adminRoutes, type AdminOptions } from '../../../gateway/admin/index.ts';
import {
  DeploymentRegistry,
  FileDeploymentStore,
  RedisDeploymentStore,
  type DeploymentSpec,
} from '../../../gateway/deployments/index.ts';
import { apiErrorHandler } from '../../../gateway/errors/index.ts';
import { startRedisServer } from '../../support/redis-server.ts';
import { generative, tensor } from '../deployments/fixtures.ts';

const TOKEN = 'admin-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

describe('admin API', { timeout: 30_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'wg-admin-'));
  let files = 0;
  after(() => rmSync(root, { recursive: true, force: true }));

  /**
   * The admin routes as the gateway mounts them, over a registry on a fresh file, with a token that
   * `call` sends unless it is given headers of its own.
   */
  async function admin(t: { after: (fn: () => unknown) => void }, given: AdminOptions = {}) {
    const options = { token: TOKEN, ...given };
    const path = join(root, `a${++files}`, 'deployments.json');
    const store = new FileDeploymentStore(path);
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const app = new Hono()
      .route('/admin/v1', adminRoutes(registry, options))
      .onError(apiErrorHandler('openai'));
    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH) =>
      app.request(`/admin/v1${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    return { app, call, registry, store, path };
  }

  async function expectError(
    res: Response,
    status: number,
    code: string,
    param?: string | null,
  ): Promise<ErrorBody> {
    const body = (await res.json()) as ErrorBody;
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    if (param !== undefined) assert.equal(body.error.param, param, body.error.message);
    return body;
  }

  it('creates, reads, lists, replaces and deletes', async (t) => {
    const { call, registry } = await admin(t);
    let res = await call('POST', '/deployments', generative('llm'));
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/admin/v1/deployments/llm');
    assert.deepEqual(await res.json(), generative('llm'));
    assert.equal((await call('POST', '/deployments', tensor('iris'))).status, 201);

    res = await call('GET', '/deployments/llm');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), generative('llm'));
    res = await call('GET', '/deployments');
    assert.deepEqual(await res.json(), { deployments: [tensor('iris'), generative('llm')] });

    const bigger = generative('llm', { scaling: { ...generative('llm').scaling, maxInstances: 16 } });
    res = await call('PUT', '/deployments/llm', bigger);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('location'), null);
    assert.deepEqual(await res.json(), bigger);
    assert.deepEqual(registry.get('llm'), bigger);

    res = await call('DELETE', '/deployments/iris');
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    await expectError(await call('GET', '/deployments/iris'), 404, 'deployment_not_found');
    await expectError(await call('DELETE', '/deployments/iris'), 404, 'deployment_not_found');
    assert.deepEqual(await (await call('GET', '/deployments')).json(), { deployments: [bigger] });
  });

  it('PUT creates too, taking the name from the path when the body leaves it out', async (t) => {
    const { call } = await admin(t);
    const { name: _, ...unnamed } = tensor('iris');
    const res = await call('PUT', '/deployments/iris', unnamed);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/admin/v1/deployments/iris');
    assert.deepEqual(await res.json(), tensor('iris'));
    assert.equal((await call('PUT', '/deployments/iris', tensor('iris'))).status, 200);
  });

  it('refuses a second POST of a name with 409 and keeps the first', async (t) => {
    const { call } = await admin(t);
    assert.equal((await call('POST', '/deployments', generative('llm'))).status, 201);
    const body = await expectError(
      await call('POST', '/deployments', tensor('llm')),
      409,
      'deployment_exists',
      'name',
    );
    assert.equal(body.error.type, 'invalid_request_error');
    assert.deepEqual(await (await call('GET', '/deployments/llm')).json(), generative('llm'));
  });

  it('answers 404 for a deployment that does not exist', async (t) => {
    const { call } = await admin(t);
    const body = await expectError(await call('GET', '/deployments/ghost'), 404, 'deployment_not_found');
    assert.equal(body.error.type, 'not_found_error');
    assert.match(body.error.message, /'ghost'/);
  });

  const invalid: [string, string, string, unknown, string][] = [
    ['POST', '/deployments', 'a scaling that is not an object', { ...tensor('x'), scaling: 4 }, 'scaling'],
    ['POST', '/deployments', 'an unknown field', { ...tensor('x'), replicas: 2 }, 'replicas'],
    [
      'POST',
      '/deployments',
      'min above max',
      { ...tensor('x'), scaling: { ...tensor('x').scaling, minInstances: 9 } },
      'scaling.minInstances',
    ],
    ['POST', '/deployments', 'a bad name', tensor('Not OK'), 'name'],
    [
      'POST',
      '/deployments',
      'an input schema that is not one',
      generative('x', { inputSchema: { type: 7 } }),
      'inputSchema',
    ],
    ['POST', '/deployments', 'an array', [tensor('x')], ''],
    ['PUT', '/deployments/x', 'a name that contradicts the path', tensor('y'), 'name'],
    ['PUT', '/deployments/x', 'a name that is not a string', { ...tensor('x'), name: 5 }, 'name'],
    [
      'PUT',
      '/deployments/x',
      'a bad batching field',
      { ...tensor('x'), batching: { maxBatchSize: 0 } },
      'batching.maxBatchSize',
    ],
    ['PUT', '/deployments/Bad%20Name', 'a bad name in the path', { ...tensor('x'), name: undefined }, 'name'],
  ];
  for (const [method, path, what, body, param] of invalid) {
    it(`refuses ${method} with ${what}, naming '${param}'`, async (t) => {
      const { call, registry } = await admin(t);
      const res = await call(method, path, body);
      const err = await expectError(res, 400, 'deployment_invalid', param);
      assert.equal(err.error.type, 'invalid_request_error');
      assert.deepEqual(registry.list(), []);
    });
  }

  it('refuses bodies that are not JSON', async (t) => {
    const { app, call } = await admin(t);
    await expectError(await call('POST', '/deployments', '{"name": "x",'), 400, 'invalid_json');
    await expectError(await call('PUT', '/deployments/x', ''), 400, 'invalid_json');
    const asText = await app.request('/admin/v1/deployments', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...AUTH },
      body: JSON.stringify(tensor('x')),
    });
    await expectError(asText, 415, 'unsupported_media_type');
    const untyped = await app.request('/admin/v1/deployments/x', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify(tensor('x')),
    });
    await expectError(untyped, 415, 'unsupported_media_type');
    const charset = await call('POST', '/deployments', tensor('x'), {
      'content-type': 'application/json; charset=utf-8',
      ...AUTH,
    });
    assert.equal(charset.status, 201);
  });

  it('refuses a body over the limit with 413', async (t) => {
    const { call, registry } = await admin(t, { maxBodyBytes: 1000 });
    const huge = generative('big', { inputSchema: { type: 'object', description: 'x'.repeat(2000) } });
    await expectError(await call('POST', '/deployments', huge), 413, 'body_too_large');
    assert.equal(registry.get('big'), undefined);
  });

  it('answers 405 with Allow for a method a route does not have', async (t) => {
    const { call } = await admin(t);
    const one = await call('PATCH', '/deployments/x', {});
    assert.equal(one.headers.get('allow'), 'GET, PUT, DELETE');
    await expectError(one, 405, 'method_not_allowed');
    const all = await call('DELETE', '/deployments');
    assert.equal(all.headers.get('allow'), 'GET, POST');
    await expectError(all, 405, 'method_not_allowed');
  });

  it('with a token, answers 401 unless the request carries it', async (t) => {
    const { call } = await admin(t, { token: 's3cret-token' });
    const cases: [string, Record<string, string>][] = [
      ['no header', {}],
      ['a wrong token', { authorization: 'Bearer wrong' }],
      ['a longer token', { authorization: 'Bearer s3cret-token-and-more' }],
      ['another scheme', { authorization: 'Basic czNjcmV0LXRva2Vu' }],
      ['the bare token', { authorization: 's3cret-token' }],
    ];
    for (const [what, headers] of cases) {
      const res = await call('GET', '/deployments', undefined, headers);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer', what);
      const body = await expectError(res, 401, 'unauthorized');
      assert.equal(body.error.type, 'authentication_error');
    }
    const refused = await call('POST', '/deployments', tensor('x'), {});
    await expectError(refused, 401, 'unauthorized');
    const auth = { authorization: 'Bearer s3cret-token' };
    assert.deepEqual(await (await call('GET', '/deployments', undefined, auth)).json(), { deployments: [] });
    assert.equal((await call('POST', '/deployments', tensor('x'), auth)).status, 201);
    assert.equal(
      (await call('DELETE', '/deployments/x', undefined, { authorization: 'bearer s3cret-token' })).status,
      204,
    );
  });

  it('without a token configured, refuses every request: never open', async (t) => {
    const store = new FileDeploymentStore(join(root, 'no-token.json'));
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const app = new Hono().route('/admin/v1', adminRoutes(registry)).onError(apiErrorHandler('openai'));
    for (const [method, path] of [
      ['GET', '/deployments'],
      ['DELETE', '/deployments/x'],
      ['GET', '/keys'],
      ['GET', '/instances'],
    ] as const) {
      for (const headers of [{}, { authorization: 'Bearer anything' }] as Record<string, string>[]) {
        const res = await app.request(`/admin/v1${path}`, { method, headers });
        const body = await expectError(res, 403, 'admin_token_not_configured');
        assert.match(body.error.message, /WARMGATE_ADMIN_TOKEN/);
      }
    }
  });

  it('refuses an empty token when built', async (t) => {
    const store = new FileDeploymentStore(join(root, 'empty-token.json'));
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    assert.throws(() => adminRoutes(registry, { token: '' }), /must not be empty/);
  });

  it('answers 503 and changes nothing while the store is down', async (t) => {
    const server = await startRedisServer();
    t.after(() => server.stop());
    const store = new RedisDeploymentStore({ url: server.url, keyPrefix: 'wg:admin:' });
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const app = new Hono()
      .route('/admin/v1', adminRoutes(registry, { token: TOKEN }))
      .onError(apiErrorHandler('openai'));
    const put = (spec: DeploymentSpec) =>
      app.request(`/admin/v1/deployments/${spec.name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...AUTH },
        body: JSON.stringify(spec),
      });
    assert.equal((await put(tensor('iris'))).status, 201);
    await server.stop();
    const body = await expectError(await put(generative('llm')), 503, 'admin_store_unavailable');
    assert.equal(body.error.type, 'server_error');
    await expectError(
      await app.request('/admin/v1/deployments/iris', { method: 'DELETE', headers: AUTH }),
      503,
      'admin_store_unavailable',
    );
    assert.deepEqual(await (await app.request('/admin/v1/deployments', { headers: AUTH })).json(), {
      deployments: [tensor('iris')],
    });
  });

  it('works over real HTTP, and what it writes is there after a restart', async (t) => {
    const { app, path } = await admin(t, { token: 'tok' });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/v1`;
    const headers = { authorization: 'Bearer tok', 'content-type': 'application/json' };

    const created = await fetch(`${base}/deployments`, {
      method: 'POST',
      headers,
      body: JSON.stringify(generative('llm')),
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/admin/v1/deployments/llm');
    assert.match(created.headers.get('content-type') ?? '', /^application\/json/);
    await created.body?.cancel();
    const read = await fetch(new URL(created.headers.get('location')!, base), { headers });
    assert.deepEqual(await read.json(), generative('llm'));
    const bad = await fetch(`${base}/deployments`, { method: 'POST', headers, body: '{' });
    await expectError(bad, 400, 'invalid_json');

    // A new registry over the same file: what a restarted gateway sees.
    const store = new FileDeploymentStore(path);
    t.after(() => store.close());
    const restarted = await DeploymentRegistry.open(store);
    assert.deepEqual(restarted.list(), [generative('llm')]);
  });
});
