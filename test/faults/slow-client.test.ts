// A slow client: one that opens a long stream and stops reading. Backpressure goes all the way down:
// the gateway stops reading from the instance once the client's socket is full, the instance stops
// writing, and its engine holds the request's unread events up to maxBufferedEvents, past which the
// request is cancelled and its KV blocks freed. First the engine's bound alone (compared with the growth
// it has without one), then the whole path with real processes, read from the instance's /metrics.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { Engine, type GenerationEvent } from '../../runtime/engine/index.ts';
import type { LoadReport } from '../../runtime/instance/load-report.ts';
import { type LoadedModel, loadModel } from '../../runtime/model/index.ts';
import { greedyParams, kvBytesFor, mustSubmit, TINY_MODEL_DIR } from '../support/engine-harness.ts';
import { parseMetrics, sample } from '../runtime/instance/helpers.ts';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import { postJson, until } from './support.ts';

describe("the engine's bound on a stalled reader (tiny model)", { timeout: 60_000 }, () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel(TINY_MODEL_DIR, { intraOpThreads: 1 });
  });
  after(async () => {
    await model.release();
  });

  /** Submits a 200-token request and reads nothing until the engine is done with it. */
  async function stalled(maxBufferedEvents: number) {
    const engine = new Engine(model, {
      intraOpThreads: 1,
      blockSize: 16,
      kvCacheBytes: kvBytesFor(model, 16, 64),
      maxBufferedEvents,
    });
    const { events } = mustSubmit(engine, { prompt: [65, 66, 67], params: greedyParams(200) });
    await engine.idle(); // generated (or cancelled) while nobody read
    const stats = engine.stats();
    const all: GenerationEvent[] = [];
    for await (const ev of events) all.push(ev);
    return { engine, stats, all };
  }

  it('without a bound a stalled stream holds the whole generation; with one it is cancelled and its blocks freed', async () => {
    const unbounded = await stalled(1_000_000);
    assert.equal(unbounded.all.filter((e) => e.type === 'token').length, 200, 'every token held unread');
    assert.equal(unbounded.engine.stalledCancels, 0);

    const bounded = await stalled(16);
    const tokens = bounded.all.filter((e) => e.type === 'token').length;
    assert.ok(tokens <= 17, `at most the bound (+ the event that crossed it) was held: ${tokens}`);
    const finish = bounded.all.at(-1)!;
    assert.equal(finish.type === 'finish' && finish.reason, 'abort');
    assert.equal(bounded.engine.stalledCancels, 1);
    assert.equal(bounded.stats.kvUsagePct, 0, 'its KV blocks are free');
    assert.equal(bounded.stats.running, 0);
  });
});

// The whole path: a client that stops reading holds up the gateway, which stops reading from the instance,
// whose writes then wait, so the request's unread events pile up in the engine until the bound cancels
// it. The loopback socket buffers on the two hops take several MiB (the kernel autotunes them up to
// tcp_rmem/tcp_wmem max), more than any demo generation (8 x 1000 tokens with 20 logprobs is ~6 MB of
// SSE), so the stalled request is the tiny model's widest: 128 samples x 240 tokens with 20 logprobs each,
// ~30 MB of NDJSON. The instance reports the cancel and the deepest backlog on /metrics.
const BOUND = 2048; // --max-buffered-events: 16 steps of 128 samples
const N = 128;
const MAX_TOKENS = 240;
/** Another client's short request must finish within this while a stream is stalled (busy machine). */
const OTHER_CLIENT_MS = 5_000;
/** ...and within this while it shares the engine with the 128-wide generation, before the cancel. */
const OTHER_CLIENT_BUSY_MS = 15_000;

describe(
  'a stalled client through the gateway (real instance process, raw socket)',
  { timeout: 120_000 },
  () => {
    let p: Platform;
    const sockets: Socket[] = [];
    before(async () => {
      p = await startPlatform({
        deployments: [
          {
            spec: deployment('slow', 'generative', 'tiny'),
            args: ['--max-buffered-events', String(BOUND), '--max-n', String(N), '--kv-mb', '16'],
          },
        ],
      });
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await p?.close();
    });
    const instanceUrl = () => p.instances[0]!.launched.url;
    const load = async () => (await (await fetch(`${instanceUrl()}/load`)).json()) as LoadReport;
    const metric = async (name: string) =>
      sample(parseMetrics(await (await fetch(`${instanceUrl()}/metrics`)).text()), name) ?? 0;

    /** Opens the wide stream, reads its first bytes and then nothing. */
    function stalledStream(): Promise<Socket> {
      const u = new URL(p.url);
      const body = JSON.stringify({
        model: 'slow',
        prompt: 'a long story',
        max_tokens: MAX_TOKENS,
        n: N,
        logprobs: 20,
        stream: true,
      });
      const socket = connect(Number(u.port), u.hostname);
      sockets.push(socket);
      socket.write(
        `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return new Promise((resolve) => socket.once('data', () => resolve(socket.pause())));
    }

    /** Another client's short request, timed. */
    async function otherClient(): Promise<number> {
      const t0 = performance.now();
      const res = await postJson(`${p.url}/v1/completions`, { model: 'slow', prompt: 'hi', max_tokens: 8 });
      assert.equal(res.status, 200, 'another client is served meanwhile');
      await res.json();
      return performance.now() - t0;
    }

    it("the instance's unread events stay within --max-buffered-events, the request is cancelled past it and its KV freed; other clients are served within seconds", async () => {
      // The gateway runs in this process: its retained heap (after a full collection) while the client stalls.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const heap = () => {
        gc();
        return process.memoryUsage().heapUsed;
      };
      const mb = (n: number) => (n / 2 ** 20).toFixed(1);
      const heapBefore = heap();
      const stream = await stalledStream();
      const whileRunning = await otherClient();

      let last = '';
      const cancels = await until(
        async () => {
          const c = await metric('warmgate_runtime_stalled_cancels_total');
          last = `stalled cancels ${c}, tokens ${await metric('warmgate_runtime_tokens_generated_total')}`;
          return c > 0 ? c : undefined;
        },
        'the instance to cancel the stalled request',
        60_000,
        () => last,
      );
      assert.equal(cancels, 1, 'exactly the stalled request was cancelled');
      const peak = await metric('warmgate_runtime_peak_buffered_events');
      // The step that crossed the bound still delivers its other samples' tokens, then one finish each.
      assert.ok(peak > BOUND, `backpressure reached the engine: ${peak} events held unread`);
      assert.ok(peak <= BOUND + 2 * N, `at most the bound + one step + the finishes held: ${peak}`);
      const generated = await metric('warmgate_runtime_tokens_generated_total');
      assert.ok(generated < N * MAX_TOKENS, `cut short: ${generated} of ${N * MAX_TOKENS} tokens`);

      // The client still reads nothing: the request no longer runs and holds no KV block.
      const stalledLoad = await until(
        async () => {
          const l = await load();
          return l.running === 0 && l.waiting === 0 && l.kvUsagePct === 0 ? l : undefined;
        },
        'no sequence running and no KV block held while the client stalls',
        10_000,
      );
      assert.ok(!stream.destroyed, 'the client is still connected and still reads nothing');
      const whileStalled = await otherClient();
      const heapStalled = heap();

      stream.destroy();
      await until(
        async () => ((await load()).outstanding === 0 ? true : undefined),
        'the instance to let go of the stream',
      );
      console.log(
        `# stalled stream (n=${N} x ${MAX_TOKENS} tokens, 20 logprobs): cancelled after ${generated} tokens, peak ${peak} events unread (bound ${BOUND}); other client ${whileRunning.toFixed(0)} ms while it ran, ${whileStalled.toFixed(0)} ms after; instance outstanding while stalled ${stalledLoad.outstanding}; gateway retained heap ${mb(heapBefore)} -> ${mb(heapStalled)} MiB`,
      );
      assert.ok(whileStalled < OTHER_CLIENT_MS, `another client served in ${whileStalled.toFixed(0)} ms`);
      assert.ok(
        whileRunning < OTHER_CLIENT_BUSY_MS,
        `another client served beside the wide generation in ${whileRunning.toFixed(0)} ms`,
      );
    });
  },
);
