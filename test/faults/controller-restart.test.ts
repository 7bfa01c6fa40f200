// A controller replica (real process: gateway + controller + local provider) killed with SIGKILL in the
// middle of a scale-up, while its instances are still loading; a new replica on the same instance
// records and Redis adopts them: at the end exactly the target number of instances run, each with its
// record, none orphaned (every instance process of this test belongs to the new replica's pool) and none
// duplicated.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { deployment } from '../support/platform.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { alive, postJson, signal, sleep, until } from './support.ts';

const REPLICA = new URL('../support/platform-process.ts', import.meta.url).pathname;
const TARGET = 3;
const ADMIN_TOKEN = 'fault-test-admin';
const ADMIN = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
/** Marks every process this test's replicas start (instances inherit the environment). */
const TAG = `WG_FAULT_TAG=${randomUUID()}`;

interface Proc {
  readonly pid: number;
  readonly standby: boolean;
}

/** Runtime processes (instances and standbys) started by this test's replicas, from /proc. */
function taggedProcesses(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (!env.includes(TAG)) continue;
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!args.some((a) => a.endsWith('runtime/instance/main.ts'))) continue;
      out.push({ pid: Number(name), standby: args.includes('--standby') });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

describe('controller killed mid-scale-up (real processes and redis-server)', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  const stateDir = mkdtempSync(join(tmpdir(), 'wg-restart-'));
  const children: ChildProcess[] = [];
  const spec = deployment('tiny', 'generative', 'tiny', {
    batching: { kvCacheBytes: 4 * 2 ** 20 },
    scaling: {
      minInstances: TARGET,
      maxInstances: TARGET,
      warmBuffer: 0,
      keepAliveMs: 60_000,
      ttftSloMs: 1000,
    },
  });
  const records = () =>
    new Map(
      readdirSync(stateDir)
        .filter((f) => f.endsWith('.json'))
        .map(
          (f) =>
            JSON.parse(readFileSync(join(stateDir, f), 'utf8')) as { id: string; pid: number; url: string },
        )
        .map((r) => [r.id, r] as const),
    );

  async function startReplica(name: string): Promise<{ url: string; child: ChildProcess }> {
    const options = {
      redisUrl: redis.url,
      instanceStateDir: stateDir,
      replicaId: name,
      tickMs: 100,
      leaseTtlMs: 1500,
      pollIntervalMs: 100,
      adminToken: ADMIN_TOKEN,
      deployments: [spec],
    };
    const [k, v] = TAG.split('=') as [string, string];
    const child = spawn(process.execPath, ['--import', 'tsx', REPLICA, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, [k]: v },
    });
    children.push(child);
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    return { url: (JSON.parse(line) as { url: string }).url, child };
  }

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const c of children) signal(c.pid, 'SIGKILL');
    for (const p of taggedProcesses()) signal(p.pid, 'SIGKILL');
    await redis?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it(`adopts the ${TARGET} instances (some still loading) of a replica killed mid-scale-up; none orphaned or duplicated`, async () => {
    const a = await startReplica('a');
    // The scale-up from 0 to 3 has begun: kill as soon as all three are launched, before they are ready.
    const launched = await until(
      () => (records().size === TARGET ? records() : undefined),
      'a to launch 3 instances',
      30_000,
    );
    a.child.kill('SIGKILL');
    await once(a.child, 'exit');
    const ready = await Promise.all(
      [...launched.values()].map((r) =>
        fetch(`${r.url}/ready`, { signal: AbortSignal.timeout(500) }).then(
          (res) => res.ok,
          () => false,
        ),
      ),
    );
    assert.ok(ready.includes(false), `some instance was still loading when its controller died (${ready})`);

    // Held mid-load (frozen) until the new replica has taken them over: its adoption must not depend on
    // an instance answering /live yet.
    for (const r of launched.values()) signal(r.pid, 'SIGSTOP');
    let thawed = false;
    const thaw = () => {
      if (thawed) return;
      thawed = true;
      for (const r of launched.values()) signal(r.pid, 'SIGCONT');
    };
    const b = await startReplica('b');
    const pools = async () =>
      (
        (await (await fetch(`${b.url}/admin/v1/instances`, ADMIN)).json()) as {
          pools: { instances: { id: string; state: string }[] }[];
        }
      ).pools.flatMap((p) => p.instances);
    try {
      await until(
        async () => ((await pools()).length >= TARGET ? true : undefined),
        `b's pool to take ${TARGET} instances`,
        30_000,
      );
    } finally {
      thaw();
    }
    await until(
      async () => {
        const inst = await pools();
        return inst.length === TARGET && inst.every((i) => i.state === 'ready-idle' || i.state === 'serving')
          ? inst
          : undefined;
      },
      `b's pool to hold ${TARGET} ready instances`,
      60_000,
    );
    assert.equal(
      (await postJson(`${b.url}/v1/completions`, { model: 'tiny', prompt: 'x', max_tokens: 2 })).status,
      200,
    );
    // Several ticks later nothing has moved.
    await sleep(1500);
    const ids = (await pools()).map((i) => i.id).sort();
    assert.deepEqual(
      ids,
      [...launched.keys()].sort(),
      'the very instances a launched: adopted, none started beside them',
    );
    const recs = records();
    assert.deepEqual([...recs.keys()].sort(), ids, 'one record per instance');
    const recorded = new Set([...recs.values()].map((r) => r.pid));
    for (const pid of recorded) assert.ok(alive(pid), `instance ${pid} runs`);

    // Every instance process of this test is one of the pool's; the rest are b's waiting standbys (at most 1).
    const procs = await until(
      () => {
        const ps = taggedProcesses();
        const stray = ps.filter((p) => !recorded.has(p.pid));
        return stray.every((p) => p.standby) && stray.length <= 1 ? ps : undefined;
      },
      `no runtime process outside the pool but one standby (pool: ${[...recorded].join(' ')})`,
      15_000,
      () => JSON.stringify(taggedProcesses()),
    );
    assert.equal(procs.filter((p) => recorded.has(p.pid)).length, TARGET);

    b.child.kill('SIGTERM');
    const [code] = await once(b.child, 'exit');
    assert.equal(code, 0);
    await until(
      () => (taggedProcesses().length === 0 ? true : undefined),
      'every runtime process of the test to end',
      15_000,
    );
    assert.equal(records().size, 0);
  });
});
