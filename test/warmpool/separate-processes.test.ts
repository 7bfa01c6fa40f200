// The platform as it runs on Kubernetes: the controller process (warmpool/main.ts) and two gateway
// processes (gateway/main.ts), each configured only by its environment, sharing one real redis-server.
// A deployment made through one gateway is served by the other, on an instance the controller started.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../runtime/instance/launch.ts';
import { deployment } from '../support/platform.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

const root = new URL('../../', import.meta.url).pathname;
const TOKEN = 'test-admin-token';

interface Proc {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  f: () => Promise<T | undefined>,
  what: string | (() => string),
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end)
      assert.fail(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(100);
  }
}

const admin = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

describe(
  'controller and gateways as separate processes on one Redis (real processes)',
  { timeout: 180_000 },
  () => {
    let redis: RedisServer;
    const procs: Proc[] = [];

    async function start(main: string, env: Record<string, string>): Promise<Proc> {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', main], {
        cwd: root,
        env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), WARMGATE_ADMIN_TOKEN: TOKEN, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
      child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
      const p = { url: `http://127.0.0.1:${port}`, child, output };
      procs.push(p);
      await until(
        async () => ((await fetch(`${p.url}/ready`)).status === 200 ? true : undefined),
        `${main} ready`,
      );
      return p;
    }

    before(async () => {
      redis = await startRedisServer();
    });
    after(async () => {
      for (const p of procs) p.child.kill('SIGKILL');
      await redis?.stop();
    });

    it('a deployment made on one gateway is served by the other, on the instance the controller started', async () => {
      const controller = await start('warmpool/main.ts', {
        REDIS_URL: redis.url,
        WARMGATE_PROVIDER: 'local',
        WARMGATE_REPLICA_ID: 'controller-0',
        WARMGATE_TICK_MS: '100',
        WARMGATE_LEASE_TTL_MS: '1500',
      });
      const a = await start('gateway/main.ts', { REDIS_URL: redis.url, WARMGATE_REPLICA_ID: 'gateway-a' });
      const b = await start('gateway/main.ts', { REDIS_URL: redis.url, WARMGATE_REPLICA_ID: 'gateway-b' });

      const spec = deployment('tiny', 'generative', 'tiny', {
        batching: { kvCacheBytes: 4 * 2 ** 20 },
        scaling: { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
      });
      const created = await fetch(`${a.url}/admin/v1/deployments`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify(spec),
      });
      assert.equal(created.status, 201, await created.clone().text());

      // An API key made on a: the public API requires one (the default), on every gateway sharing Redis.
      const made = await fetch(`${a.url}/admin/v1/keys`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'test' }),
      });
      assert.equal(made.status, 201);
      const { key } = (await made.json()) as { key: string };
      const keyless = await fetch(`${b.url}/v1/models`);
      assert.equal(keyless.status, 401);

      // Gateway b learns of the deployment from Redis, and routes to the instance the controller publishes.
      let last = '';
      const res = await until(
        async () => {
          const r = await fetch(`${b.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ model: 'tiny', prompt: 'to be', max_tokens: 4 }),
          });
          if (r.status !== 200) last = `${r.status} ${await r.text()}`;
          return r.status === 200 ? ((await r.json()) as { choices: { text: string }[] }) : undefined;
        },
        () => `gateway b to serve the deployment made on gateway a (last answer: ${last})`,
      );
      assert.equal(typeof res.choices[0]!.text, 'string');

      const status = (await (
        await fetch(`${controller.url}/admin/v1/controller`, { headers: admin })
      ).json()) as { leading: boolean; holderId: string };
      assert.deepEqual(status, { ...status, leading: true, holderId: 'controller-0' });
      const pools = (await (
        await fetch(`${controller.url}/admin/v1/instances`, { headers: admin })
      ).json()) as {
        pools: { deployment: string; instances: { state: string }[] }[];
      };
      assert.equal(pools.pools.find((p) => p.deployment === 'tiny')?.instances.length, 1);
      assert.equal((await fetch(`${controller.url}/admin/v1/controller`)).status, 401, 'never open');
      const metrics = await (await fetch(`${controller.url}/metrics`)).text();
      assert.match(metrics, /warmgate_pool_instances\{[^}]*deployment="tiny"[^}]*\} 1/);
      assert.match(metrics, /warmgate_controller_leading[^\n]* 1/);

      // Deleted on b: a stops serving it within the resync, and the controller drains its instance.
      assert.equal(
        (await fetch(`${b.url}/admin/v1/deployments/tiny`, { method: 'DELETE', headers: admin })).status,
        204,
      );
      await until(
        async () => {
          const res = await fetch(`${a.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
          const models = (await res.json()) as { data: { id: string }[] };
          return models.data.some((m) => m.id === 'tiny') ? undefined : true;
        },
        'gateway a to drop the deleted deployment',
        10_000,
      );
      await until(
        async () => {
          const p = (await (
            await fetch(`${controller.url}/admin/v1/instances`, { headers: admin })
          ).json()) as {
            pools: { instances: unknown[] }[];
          };
          return p.pools.every((x) => x.instances.length === 0) ? true : undefined;
        },
        'the controller to drain the instance',
        30_000,
      );

      // SIGTERM: /ready fails while shutting down, and every process exits 0.
      for (const p of [a, b, controller]) {
        p.child.kill('SIGTERM');
        const [code] = (await once(p.child, 'exit')) as [number | null];
        assert.equal(code, 0, p.output.join(''));
      }
    });

    it('a wrong variable stops the process with a message naming it', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'warmpool/main.ts'], {
        cwd: root,
        env: { ...process.env, REDIS_URL: redis.url, WARMGATE_TICK_MS: 'soon', WARMGATE_PROVIDER: 'nomad' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.notEqual(code, 0);
      assert.match(err, /WARMGATE_TICK_MS must be integer/);
      assert.match(
        err,
        /WARMGATE_PROVIDER must be equal to one of the allowed values: one of kubernetes, local/,
      );
    });
  },
);
