// An instance that hangs (frozen with SIGSTOP: its process holds its sockets but answers nothing): the
// gateway's requests to it fail cleanly within the upstream idle timeout (504 upstream_timeout, or an
// SSE error event mid-stream), the upstream request is torn down (the instance, once thawed, holds no
// request and no KV block), and the instance is out of routing. Then the controller side: a pool
// replaces an instance whose /live stops answering, and one the gateway reports hung.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LoadReport } from '../../runtime/instance/load-report.ts';
import { WarmPool } from '../../warmpool/pool/index.ts';
import { LocalProvider } from '../../warmpool/providers/index.ts';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import { alive, postJson, signal, until } from './support.ts';

// Seconds, not milliseconds: an instance on a busy machine (both cores taken by other work) can go a
// second without a token and must not be taken for hung; a frozen one stays silent for as long as it takes.
const IDLE_MS = 5_000;
/** The pool's /live probe timeout: a busy instance answers within it, a frozen one never does. */
const PROBE_TIMEOUT_MS = 3_000;

describe(
  'a hung instance, seen from the gateway (real instance processes frozen with SIGSTOP)',
  { timeout: 180_000 },
  () => {
    let p: Platform;
    const pidOf = (name: string) => p.instances.find((i) => i.deployment === name)!.launched.process.pid!;
    const urlOf = (name: string) => p.instances.find((i) => i.deployment === name)!.launched.url;
    const upstreamOf = (name: string) => p.gateway.gateway.registry.instances(name)[0]!;
    const load = async (name: string) => (await (await fetch(`${urlOf(name)}/load`)).json()) as LoadReport;
    /** The instance, thawed, holds nothing for the request the gateway gave up on. */
    const released = (name: string) =>
      until(
        async () => {
          const l = await load(name);
          return l.outstanding === 0 && (l.running ?? 0) === 0 && (l.kvUsagePct ?? 0) === 0 ? l : undefined;
        },
        `${name} to hold no request and no KV block`,
        30_000,
      );

    before(async () => {
      p = await startPlatform({
        upstreamIdleTimeoutMs: IDLE_MS,
        deployments: [
          { spec: deployment('hang-stream', 'generative', 'demo') },
          { spec: deployment('hang-whole', 'generative', 'tiny') },
          { spec: deployment('hang-tensor', 'tensor', 'classifier') },
        ],
      });
    });
    after(async () => {
      for (const i of p?.instances ?? []) signal(i.launched.process.pid, 'SIGCONT');
      await p?.close();
    });

    it('mid-stream: the client gets an upstream_timeout error event and the end; the instance is out of routing and freed', async () => {
      const res = await postJson(`${p.url}/v1/completions`, {
        model: 'hang-stream',
        prompt: 'a long story',
        max_tokens: 1000,
        stream: true,
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      signal(pidOf('hang-stream'), 'SIGSTOP'); // frozen after its first token, with ~1000 to go
      const decoder = new TextDecoder();
      let text = decoder.decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      const events = text
        .split('\n\n')
        .filter((e) => e.startsWith('data: '))
        .map((e) => e.slice(6));
      assert.ok(!events.includes('[DONE]'), 'the stream did not pretend to finish');
      const last = JSON.parse(events.at(-1)!) as { error?: { code?: string } };
      assert.equal(last.error?.code, 'upstream_timeout', events.at(-1));
      const inst = upstreamOf('hang-stream');
      assert.equal(inst.hungRequests, 1);
      assert.equal(inst.routable, false, 'taken out of routing');

      signal(pidOf('hang-stream'), 'SIGCONT');
      await released('hang-stream'); // the torn-down connection aborted the request at the instance
      await until(
        () => (upstreamOf('hang-stream').routable ? true : undefined),
        'routable again once it answers',
      );
      assert.equal(
        (await postJson(`${p.url}/v1/completions`, { model: 'hang-stream', prompt: 'x', max_tokens: 4 }))
          .status,
        200,
      );
    });

    it('non-streaming: 504 upstream_timeout', async () => {
      const hung = new Promise<[string, number]>((resolve) =>
        p.gateway.gateway.registry.once('hung', (i) => resolve([i.url, i.hungRequests])),
      );
      signal(pidOf('hang-whole'), 'SIGSTOP');
      const t0 = performance.now();
      const res = await postJson(`${p.url}/v1/completions`, {
        model: 'hang-whole',
        prompt: 'x',
        max_tokens: 8,
      });
      const ms = performance.now() - t0;
      assert.equal(res.status, 504, await res.clone().text());
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'upstream_timeout');
      assert.ok(ms >= IDLE_MS * 0.9, `answered after the idle timeout (${ms} ms)`);
      assert.deepEqual(await hung, [urlOf('hang-whole'), 1], "the 'hung' report names the instance's URL");
      signal(pidOf('hang-whole'), 'SIGCONT');
      await released('hang-whole');
    });

    it('tensor inference: 504 upstream_timeout', async () => {
      signal(pidOf('hang-tensor'), 'SIGSTOP');
      const res = await postJson(`${p.url}/v2/models/hang-tensor/infer`, {
        inputs: [
          {
            name: 'features',
            shape: [1, 16],
            datatype: 'FP32',
            data: Array.from({ length: 16 }, (_, i) => i / 16),
          },
        ],
      });
      assert.equal(res.status, 504, await res.clone().text());
      assert.equal(upstreamOf('hang-tensor').hungRequests, 1);
      signal(pidOf('hang-tensor'), 'SIGCONT');
      await released('hang-tensor');
    });
  },
);

describe('a hung instance, seen from the pool (LocalProvider, real processes)', { timeout: 180_000 }, () => {
  const provider = new LocalProvider({
    standby: 0,
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    graphCacheDir: false,
  });
  const spec = deployment('hung-pool', 'generative', 'tiny', { batching: { kvCacheBytes: 4 * 2 ** 20 } });
  const gone: string[] = [];
  const pool = new WarmPool({
    deployment: spec,
    provider,
    unresponsiveLimit: 2,
    drainTimeoutMs: 2000,
    hooks: { onGone: (i, how) => gone.push(`${i.id} ${how.state} ${how.reason ?? ''}`) },
  });
  const frozen: number[] = [];
  const readyOne = () =>
    until(
      async () => {
        await pool.reconcile(1);
        const ready = pool.status().instances.filter((i) => i.state === 'ready-idle');
        return ready.length === 1 && pool.status().instances.length === 1 ? ready[0]! : undefined;
      },
      'one ready instance',
      60_000,
    );

  after(async () => {
    for (const pid of frozen) signal(pid, 'SIGKILL');
    await pool.close();
    await provider.close();
  });

  it('an instance whose /live stops answering is killed and replaced', async () => {
    const first = await readyOne();
    const pid = provider.pid(first.id)!;
    frozen.push(pid);
    signal(pid, 'SIGSTOP');
    await until(
      async () => {
        await pool.reconcile(1);
        return pool.status().instances.some((i) => i.id === first.id) ? undefined : true;
      },
      'the frozen instance to leave the pool',
      // Two probes of PROBE_TIMEOUT_MS each, and the reconcile loop around them.
      30_000,
    );
    const second = await readyOne();
    assert.notEqual(second.id, first.id, 'a new instance took its place');
    await until(() => (alive(pid) ? undefined : true), 'the frozen process to be killed', 30_000);
    assert.match(
      gone.join('\n'),
      new RegExp(`${first.id} failed unresponsive: /live did not answer 2 times`),
    );
  });

  it('an instance the gateway reports hung is recycled at once', async () => {
    const before = await readyOne();
    const pid = provider.pid(before.id)!;
    frozen.push(pid);
    signal(pid, 'SIGSTOP');
    assert.equal(pool.recycle(before.url!, `a request saw no token for ${IDLE_MS} ms`), true);
    assert.equal(pool.recycle('no-such-instance', 'x'), false);
    const after = await readyOne();
    assert.notEqual(after.id, before.id);
    await until(() => (alive(pid) ? undefined : true), 'the hung process to be killed', 30_000);
    assert.match(gone.join('\n'), /recycled: a request saw no token/);
  });
});
