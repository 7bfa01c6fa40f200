import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../../runtime/instance/launch.ts';
import { ArtifactCache } from '../../warmpool/artifacts/index.ts';
import { followTimings, InstanceLifecycle, instanceArgs, LocalProvider } from '../../warmpool/index.ts';
import type { InstanceHealth } from '../../warmpool/index.ts';
import { parseInstanceArgs } from '../../runtime/instance/config.ts';
import { deployment } from '../support/platform.ts';

/** Polls until `check` holds; the deadline only guards against a hang. */
async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const healthBecomes = (p: LocalProvider, id: string, want: InstanceHealth) =>
  until(async () => (await p.health(id)) === want, `${id} to be ${want}`);

const generate = (url: string, maxTokens: number) =>
  fetch(`${url}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'warm pool', params: { temperature: 0, maxTokens, ignoreEos: true } }),
  });

const events = async (res: Response) =>
  (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; reason?: string });

describe('instanceArgs', () => {
  it("passes the deployment's batching limits as the instance's flags", () => {
    const d = deployment('t', 'tensor', 'classifier', {
      batching: {
        kvCacheBytes: 16 * 2 ** 20,
        maxRunningSeqs: 8,
        maxBatchSize: 32,
        preferredBatchSizes: [8, 16],
      },
    });
    const args = instanceArgs(d, '127.0.0.1', 9100);
    assert.deepEqual(args.slice(2), [
      '--kind',
      'tensor',
      '--host',
      '127.0.0.1',
      '--port',
      '9100',
      '--kv-mb',
      '16',
      '--max-running-seqs',
      '8',
      '--max-batch-size',
      '32',
      '--preferred-batch-sizes',
      '8,16',
    ]);
    assert.match(args[1]!, /runtime\/models\/classifier$/);
  });

  it("passes a deployment's adapter slots as flags the instance reads back as its LoRA graph spec", () => {
    const d = deployment('base', 'generative', 'tiny', {
      runtime: { adapters: { slots: 4, maxRank: 8, targets: ['q_proj', 'v_proj'] } },
    });
    const args = instanceArgs(d, '127.0.0.1', 9100);
    assert.deepEqual(parseInstanceArgs(args).adapters, {
      slots: 5,
      maxRank: 8,
      targets: ['q_proj', 'v_proj'],
    });
    const plain = instanceArgs(deployment('plain', 'generative', 'tiny'), '127.0.0.1', 9100);
    assert.equal(parseInstanceArgs(plain).adapters, undefined, 'no adapter slots unless asked for');
    assert.throws(
      () => parseInstanceArgs([...plain, '--adapter-slots', '2', '--adapter-max-rank', '65']),
      /--adapter-max-rank must be at most 64/,
    );
    assert.throws(
      () => parseInstanceArgs([...plain, '--adapter-slots', '2', '--adapter-targets', 'q_proj,lm_head']),
      /--adapter-targets takes .* got lm_head/,
    );
  });

  it('a URL artifact that cannot be fetched fails its start, naming the deployment', async () => {
    // A loopback port nothing listens on: refused at once, no network needed.
    const d = deployment('remote-model', 'generative', 'tiny', {
      model: { url: `http://127.0.0.1:${await freePort()}/m`, sha256: 'a'.repeat(64) },
    });
    assert.throws(() => instanceArgs(d, '127.0.0.1', 1), /deployment remote-model: .*URL artifact/);
    const cache = mkdtempSync(join(tmpdir(), 'wg-cache-'));
    const p = new LocalProvider({ artifacts: new ArtifactCache({ dir: cache }) });
    await assert.rejects(
      p.start({ deployment: d, instanceId: 'u-1' }),
      /deployment remote-model: artifact_unreachable/,
    );
    assert.deepEqual(await p.list(), []);
    rmSync(cache, { recursive: true, force: true });
  });
});

describe('LocalProvider with the tiny model', { timeout: 60_000 }, () => {
  const p = new LocalProvider({ pollIntervalMs: 20 });
  after(() => p.close(1000));
  const tiny = deployment('tiny', 'generative', 'tiny', { batching: { kvCacheBytes: 4 * 2 ** 20 } });

  it('starts without waiting, becomes ready, serves, and drains an in-flight request on stop', async () => {
    const life = new InstanceLifecycle('a');
    const a = await p.start({ deployment: tiny, instanceId: 'a' });
    const b = await p.start({ deployment: tiny, instanceId: 'b' }); // killed in the next test
    assert.equal(await p.health('a'), 'starting'); // the process was only just spawned
    assert.deepEqual((await p.list()).map((i) => i.id).sort(), ['a', 'b']);
    assert.equal(a.deployment, tiny);
    await healthBecomes(p, 'a', 'ready');

    followTimings(life, p.timings('a')!);
    assert.equal(life.state, 'ready-idle');
    const ph = life.phases();
    assert.ok(ph.coldStartMs! > 0, 'cold start measured');
    assert.equal(
      ph.coldStartMs,
      ph.startingMs! + ph.loadingMs! + ph.warmingMs! + (a.startedAt - life.history[0]!.at),
    );

    const first = await events(await generate(a.url, 4));
    assert.equal(first.at(-1)!.reason, 'length');

    const inflight = generate(a.url, 200);
    await until(
      async () => ((await (await fetch(`${a.url}/load`)).json()) as { running: number }).running > 0,
      'the request to run',
    );
    const stopping = p.stop('a', { drainTimeoutMs: 20_000 });
    assert.equal(await p.health('a'), 'draining');
    const drained = await events(await inflight);
    assert.equal(drained.filter((e) => e.type === 'token').length, 200);
    assert.equal(drained.at(-1)!.reason, 'length');
    const exit = await stopping;
    assert.equal(exit?.code, 0);
    assert.equal(await p.health('a'), 'gone');
    assert.deepEqual(
      (await p.list()).map((i) => i.id),
      [b.id],
    );
  });

  it('a process killed with SIGKILL is gone, with its signal kept', async () => {
    await healthBecomes(p, 'b', 'ready');
    process.kill(p.pid('b')!, 'SIGKILL');
    await healthBecomes(p, 'b', 'gone');
    assert.equal(p.exitOf('b')?.signal, 'SIGKILL');
    assert.deepEqual(await p.list(), []);
  });

  it('an instance whose model folder does not exist exits; gone comes with the exit code and stderr', async () => {
    const missing = deployment('nowhere', 'generative', 'no-such-model');
    await p.start({ deployment: missing, instanceId: 'm' });
    await healthBecomes(p, 'm', 'gone');
    const exit = p.exitOf('m')!;
    assert.equal(exit.code, 1);
    assert.match(exit.stderrTail, /instance failed to start/);
    assert.match(exit.stderrTail, /no-such-model/);
    const life = new InstanceLifecycle('m');
    followTimings(life, p.timings('m')!);
    life.fail(`exit code ${exit.code}: ${exit.stderrTail.trim().split('\n').at(-1)}`);
    assert.match(life.failure!, /exit code 1: instance failed to start/);
  });
});

describe('LocalProvider standby processes (tiny model)', { timeout: 90_000 }, () => {
  const graphs = mkdtempSync(join(tmpdir(), 'wg-graphs-'));
  const p = new LocalProvider({ pollIntervalMs: 20, standby: 1, standbyKvMb: 4, graphCacheDir: graphs });
  after(async () => {
    await p.close(1000);
    rmSync(graphs, { recursive: true, force: true });
  });
  const tiny = deployment('tiny', 'generative', 'tiny', { batching: { kvCacheBytes: 4 * 2 ** 20 } });

  it('a start takes the primed standby (same process), serves, and the standby is replaced once it is up', async () => {
    p.prepare(tiny); // what the controller calls for a deployment it manages: primes the standby
    await p.standbyPrimed();
    const [standbyPid] = p.standbyPids();
    assert.ok(standbyPid, 'one standby waiting');

    const a = await p.start({ deployment: tiny, instanceId: 'sa' });
    assert.equal(p.pid('sa'), standbyPid, 'the instance is the standby process');
    assert.deepEqual(p.standbyPids(), [], 'not replaced while the instance loads');
    await healthBecomes(p, 'sa', 'ready');
    const t = p.timings('sa')!;
    assert.ok(t.liveAt !== undefined && t.readyAt! >= t.liveAt, 'assignment and readiness timed');
    assert.equal((await events(await generate(a.url, 4))).at(-1)!.reason, 'length');

    await until(async () => p.standbyPids().length === 1, 'a new standby');
    assert.notEqual(p.standbyPids()[0], standbyPid);
    assert.equal((await p.stop('sa', { drainTimeoutMs: 5000 }))?.code, 0);
  });

  it('a start with no primed standby spawns a process of its own', async () => {
    const q = new LocalProvider({ pollIntervalMs: 20, standby: 0, graphCacheDir: graphs });
    try {
      await q.start({ deployment: tiny, instanceId: 'own' });
      assert.deepEqual(q.standbyPids(), []);
      await healthBecomes(q, 'own', 'ready');
    } finally {
      await q.close(1000);
    }
  });
});
