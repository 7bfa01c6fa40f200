import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { Redis } from 'ioredis';
import {
  checkDeployment,
  DeploymentRegistry,
  FileDeploymentStore,
  RedisDeploymentStore,
  type DeploymentChange,
  type DeploymentSpec,
} from '../../../gateway/deployments/index.ts';
import { ApiError } from '../../../gateway/errors/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { generative, tensor } from './fixtures.ts';

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => assert.fail('expected an ApiError'),
    (e: unknown) => e,
  );
  assert.ok(e instanceof ApiError, String(e));
  return e;
}

function inputError(registry: DeploymentRegistry, name: string, body: unknown): ApiError {
  const r = registry.validateInput(name, body);
  assert.equal(r.ok, false, `expected ${JSON.stringify(body)} to be refused`);
  return (r as { error: ApiError }).error;
}

describe('deployment registry', { timeout: 30_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'wg-registry-'));
  let n = 0;
  const file = (): string => join(root, `r${++n}`, 'deployments.json');
  const servers: RedisServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** A registry over Redis through a client that reconnects quickly, so a test can stop and restart Redis. */
  async function overRedis(t: { after: (fn: () => unknown) => void }) {
    const server = await startRedisServer();
    servers.push(server);
    const client = new Redis(server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 20,
    });
    client.on('error', () => undefined);
    t.after(() => client.disconnect());
    const store = new RedisDeploymentStore({ client, keyPrefix: 'wg:reg:' });
    return { server, client, store, registry: await DeploymentRegistry.open(store) };
  }

  it('loads every deployment from the store at start', async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    await store.put(generative('llm'));
    await store.put(tensor('iris'));
    const registry = await DeploymentRegistry.open(store);
    assert.deepEqual(registry.list(), [tensor('iris'), generative('llm')]);
    assert.deepEqual(registry.get('llm'), generative('llm'));
    assert.equal(registry.get('nope'), undefined);
    assert.deepEqual(registry.validateInput('llm', { prompt: 'hi' }), { ok: true });
  });

  it("checks an adapter's base, and keeps a base serving adapters while adapters name it", async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const adapter = (name: string, base: string): DeploymentSpec =>
      checkDeployment({ name, kind: 'adapter', base, model: { path: '/adapters/x' } });
    const serving = generative('base', { runtime: { adapters: { slots: 4 } } });
    const refusedBase = async (a: DeploymentSpec, why: RegExp) => {
      const e = await refusal(registry.put(a));
      assert.equal(e.code, 'deployment_invalid');
      assert.equal(e.param, 'base');
      assert.match(e.message, why);
    };
    await refusedBase(adapter('a1', 'base'), /base 'base' is not deployed/);
    await registry.put(generative('base'));
    await refusedBase(adapter('a1', 'base'), /does not serve adapters: give it runtime.adapters/);
    await registry.put(tensor('iris'));
    await refusedBase(adapter('a1', 'iris'), /is a tensor deployment/);
    await registry.put(serving);
    await registry.put(adapter('a1', 'base'));
    await registry.create(adapter('a2', 'base'));
    assert.deepEqual(
      registry.adaptersOf('base').map((d) => d.name),
      ['a1', 'a2'],
    );
    // The base cannot go, nor stop serving adapters, while they name it.
    for (const p of [registry.delete('base'), registry.put(generative('base'))]) {
      const e = await refusal(p);
      assert.equal(e.code, 'deployment_in_use');
      assert.match(e.message, /'base' is the base of adapter\(s\) a1, a2/);
    }
    assert.deepEqual(registry.get('base'), serving, 'a refused write changes nothing');
    assert.ok(await registry.delete('a1'));
    assert.ok(await registry.delete('a2'));
    assert.ok(await registry.delete('base'), 'with its adapters gone, the base may go');
  });

  it('serves reads from memory: they work with the store gone', async (t) => {
    const { server, registry } = await overRedis(t);
    await registry.put(generative('llm'));
    await server.stop();
    assert.deepEqual(registry.get('llm'), generative('llm'));
    assert.deepEqual(
      registry.list().map((d) => d.name),
      ['llm'],
    );
    assert.deepEqual(registry.validateInput('llm', { prompt: 'still here' }), { ok: true });
    assert.equal(inputError(registry, 'llm', {}).param, 'prompt');
  });

  it('compiles an input schema once per put, and reuses it for every check', async (t) => {
    const compile = t.mock.method(Ajv.prototype, 'compile');
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    assert.equal(compile.mock.callCount(), 0);

    await registry.put(generative('llm'));
    assert.equal(compile.mock.callCount(), 1);
    for (let i = 0; i < 50; i++) registry.validateInput('llm', { prompt: `p${i}` });
    for (let i = 0; i < 50; i++) registry.validateInput('llm', { nope: i });
    assert.equal(compile.mock.callCount(), 1, 'checks do not compile');

    await registry.put(tensor('iris')); // no input schema, nothing to compile
    assert.equal(compile.mock.callCount(), 1);

    // Replacing recompiles, and the new schema is the one in force.
    const strict = generative('llm', {
      inputSchema: {
        type: 'object',
        required: ['text'],
        properties: { text: { type: 'string', maxLength: 3 } },
      },
    });
    assert.deepEqual(await registry.put(strict), { created: false });
    assert.equal(compile.mock.callCount(), 2);
    assert.equal(inputError(registry, 'llm', { prompt: 'old shape' }).param, 'text');
    assert.equal(inputError(registry, 'llm', { text: 'long' }).param, 'text');
    assert.deepEqual(registry.validateInput('llm', { text: 'ok' }), { ok: true });
  });

  it('names the field at fault, as invalid_request', async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    await registry.put(
      generative('llm', {
        inputSchema: {
          type: 'object',
          required: ['prompt'],
          additionalProperties: false,
          properties: {
            prompt: { type: 'string' },
            params: {
              type: 'object',
              required: ['seed'],
              additionalProperties: false,
              properties: { seed: { type: 'integer' }, temperature: { type: 'number' } },
            },
          },
        },
      }),
    );
    const cases: [unknown, string | null, RegExp][] = [
      [{}, 'prompt', /^'prompt' is required$/],
      [{ prompt: 3 }, 'prompt', /^'prompt' must be string$/],
      [{ prompt: 'x', extra: 1 }, 'extra', /^'extra' is not a supported field$/],
      [{ prompt: 'x', params: { seed: 1, temperature: 'hot' } }, 'params.temperature', /must be number/],
      [{ prompt: 'x', params: {} }, 'params.seed', /^'params\.seed' is required$/],
      [{ prompt: 'x', params: { seed: 1, top: 2 } }, 'params.top', /not a supported field/],
      [[1, 2], null, /^the request body must be object$/],
    ];
    for (const [body, param, message] of cases) {
      const e = inputError(registry, 'llm', body);
      assert.equal(e.code, 'invalid_request');
      assert.equal(e.status, 400);
      assert.equal(e.param, param, JSON.stringify(body));
      assert.match(e.message, message);
    }
    await registry.put(tensor('iris'));
    assert.deepEqual(registry.validateInput('iris', 'anything'), { ok: true }, 'no schema, no check');
    assert.equal(inputError(registry, 'ghost', {}).code, 'deployment_not_found');
  });

  it('creates, replaces, deletes, and tells listeners after each change', async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const seen: DeploymentChange[] = [];
    const stop = registry.onChange((c) => seen.push(c));

    assert.deepEqual(await registry.put(generative('a')), { created: true });
    await registry.create(tensor('b'));
    const replaced = generative('a', { scaling: { ...generative('a').scaling, maxInstances: 8 } });
    assert.deepEqual(await registry.put(replaced), { created: false });
    assert.equal(await registry.delete('b'), true);
    assert.equal(await registry.delete('b'), false);
    assert.deepEqual(seen, [
      { type: 'put', spec: generative('a') },
      { type: 'put', spec: tensor('b') },
      { type: 'put', spec: replaced },
      { type: 'delete', spec: tensor('b') },
    ]);
    assert.deepEqual(await store.list(), [replaced], 'the store has every write');

    const e = await refusal(registry.create(generative('a')));
    assert.equal(e.code, 'deployment_exists');
    assert.equal(e.status, 409);

    stop();
    await registry.put(tensor('c'));
    assert.equal(seen.length, 4, 'no calls after unsubscribing');
  });

  it('lets one of two racing creates of a name win', async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const results = await Promise.allSettled([
      registry.create(generative('x')),
      registry.create(tensor('x')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected'],
    );
    assert.equal(((results[1] as PromiseRejectedResult).reason as ApiError).code, 'deployment_exists');
    assert.deepEqual(registry.get('x'), generative('x'));
    assert.deepEqual(await store.get('x'), generative('x'));
  });

  it('keeps a listener that throws from failing the write or the other listeners', async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const logged: string[] = [];
    const registry = await DeploymentRegistry.open(store, { log: (m) => logged.push(m) });
    const seen: string[] = [];
    registry.onChange(() => {
      throw new Error('listener bug');
    });
    registry.onChange((c) => seen.push(c.spec.name));
    assert.deepEqual(await registry.put(tensor('a')), { created: true });
    assert.deepEqual(seen, ['a']);
    assert.deepEqual(logged, ["deployments: a change listener failed on put 'a'"]);
  });

  it('holds frozen copies: neither the caller nor a reader can change a deployment', async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const spec = generative('a');
    await registry.put(spec);
    spec.scaling.maxInstances = 99;
    const got = registry.get('a')!;
    assert.equal(got.scaling.maxInstances, 4);
    assert.throws(() => {
      got.scaling.maxInstances = 5;
    }, TypeError);
    assert.ok(Object.isFrozen(got.inputSchema!.properties));
  });

  it('refuses an input schema it cannot run before the store sees it', async (t) => {
    const store = new FileDeploymentStore(file());
    t.after(() => store.close());
    const registry = await DeploymentRegistry.open(store);
    const bad: [string, Record<string, unknown>][] = [
      ['not a schema', { type: 'banana' }],
      ['async', { $async: true, type: 'object' }],
    ];
    for (const [what, inputSchema] of bad) {
      const e = await refusal(registry.put(generative('a', { inputSchema })));
      assert.equal(e.code, 'deployment_invalid', what);
      assert.equal(e.param, 'inputSchema', what);
    }
    assert.equal(registry.get('a'), undefined);
    assert.deepEqual(await store.list(), []);
  });

  it('leaves memory unchanged when the store fails, and works again once it is back', async (t) => {
    const { server, client, registry } = await overRedis(t);
    const original = generative('llm');
    await registry.put(original);
    await registry.put(tensor('iris'));
    const seen: DeploymentChange[] = [];
    registry.onChange((c) => seen.push(c));

    await server.stop();
    const replacement = generative('llm', {
      inputSchema: { type: 'object', required: ['text'] },
    });
    for (const write of [
      () => registry.put(replacement),
      () => registry.put(tensor('new')),
      () => registry.create(tensor('new')),
      () => registry.delete('iris'),
    ]) {
      const e = await refusal(write());
      assert.equal(e.code, 'admin_store_unavailable');
      assert.equal(e.status, 503);
    }
    assert.deepEqual(registry.list(), [tensor('iris'), original]);
    assert.deepEqual(registry.validateInput('llm', { prompt: 'the old schema' }), { ok: true });
    assert.equal(seen.length, 0, 'no change reached the listeners');

    await server.restart();
    await until('the client to reconnect', () => client.status === 'ready');
    assert.deepEqual(await registry.put(replacement), { created: false });
    assert.deepEqual(registry.validateInput('llm', { text: 'the new schema' }), { ok: true });
    assert.equal(await registry.delete('iris'), true);
    assert.deepEqual(
      seen.map((c) => c.type),
      ['put', 'delete'],
    );
  });

  it('survives a restart over the same file', async () => {
    const path = file();
    const first = new FileDeploymentStore(path);
    const before = await DeploymentRegistry.open(first);
    await before.create(generative('llm'));
    await before.create(tensor('iris'));
    await before.create(tensor('gone'));
    await before.delete('gone');
    await first.close();

    const second = new FileDeploymentStore(path);
    try {
      const after = await DeploymentRegistry.open(second);
      assert.deepEqual(after.list(), [tensor('iris'), generative('llm')]);
      assert.equal(inputError(after, 'llm', { prompt: 1 }).param, 'prompt', 'schemas are compiled on load');
    } finally {
      await second.close();
    }
  });

  it('skips, with a warning, a stored deployment whose input schema it cannot run', async (t) => {
    // checkDeployment refuses these now; a store written before that may still hold one.
    const { client, store } = await overRedis(t);
    await store.put(tensor('fine'));
    const asyncSpec: DeploymentSpec = generative('old', { inputSchema: { $async: true, type: 'object' } });
    await client.hset('wg:reg:deployments', 'old', JSON.stringify(asyncSpec));
    const warnings: string[] = [];
    const quiet = new RedisDeploymentStore({ client, keyPrefix: 'wg:reg:', warn: (m) => warnings.push(m) });
    const logged: string[] = [];
    const registry = await DeploymentRegistry.open(quiet, { log: (m) => logged.push(m) });
    assert.deepEqual(
      registry.list().map((d) => d.name),
      ['fine'],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /skipping 'old' .*inputSchema must not be \$async/);
    assert.deepEqual(logged, []);
  });
});
