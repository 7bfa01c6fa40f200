// A slow client: one that opens a long stream and stops reading. Backpressure goes all the way down:
// the gateway stops reading from the instance once the client's socket is full, the instance stops
// writing, and its engine holds the request's unread events up to maxBufferedEvents, past which the
// request is cancelled and its KV blocks freed. First the engine's bound alone (compared with the growth
// it has without one), then the whole path with real processes, gateway memory measured.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { Engine, type GenerationEvent } from '../../runtime/engine/index.ts';
import type { LoadReport } from '../../runtime/instance/load-report.ts';
import { type LoadedModel, loadModel } from '../../runtime/model/index.ts';
import { greedyParams, kvBytesFor, mustSubmit, TINY_MODEL_DIR } from '../support/engine-harness.ts';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import { until } from './support.ts';

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

describe(
  'stalled clients through the gateway (real instance process, raw sockets)',
  { timeout: 90_000 },
  () => {
    let p: Platform;
    const sockets: Socket[] = [];
    before(async () => {
      p = await startPlatform({
        deployments: [
          { spec: deployment('slow', 'generative', 'demo'), args: ['--max-buffered-events', '256'] },
        ],
      });
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await p?.close();
    });
    const load = async () =>
      (await (await fetch(`${p.instances[0]!.launched.url}/load`)).json()) as LoadReport;

    /** Opens a stream of 8 samples x 1000 tokens (~1.7 MB of SSE), reads its first bytes and then nothing. */
    function stalledStream(): Promise<Socket> {
      const u = new URL(p.url);
      const body = JSON.stringify({
        model: 'slow',
        prompt: 'a long story',
        max_tokens: 1000,
        n: 8,
        stream: true,
      });
      const socket = connect(Number(u.port), u.hostname);
      sockets.push(socket);
      socket.write(
        `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return new Promise((resolve) => socket.once('data', () => resolve(socket.pause())));
    }

    it('stalled streams hold no KV once done, do not hold up other clients, and are freed when the clients go; memory measured', async () => {
      // The gateway runs in this process: its retained heap (after a full collection) while clients stall.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const mem = () => {
        gc();
        return process.memoryUsage();
      };
      const mb = (n: number) => (n / 2 ** 20).toFixed(1);
      const before = mem();
      const streams = [await stalledStream(), await stalledStream()];
      const other = await fetch(`${p.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'slow', prompt: 'hi', max_tokens: 8 }),
      });
      assert.equal(other.status, 200, 'another client is served meanwhile');
      let peakHeap = 0;
      let peakRss = 0;
      let last: LoadReport | undefined;
      // The stalled requests end at the instance: generated to the end (on loopback the kernel's socket
      // buffers take a whole stream of these models, up to ~1.8 MB) or cancelled past the engine's bound
      // where backpressure reached it; either way no KV block stays held for a client that reads nothing.
      const stalledLoad = await until(
        async () => {
          const m = mem();
          peakHeap = Math.max(peakHeap, m.heapUsed);
          peakRss = Math.max(peakRss, m.rss);
          const l = (last = await load());
          return l.running === 0 && l.kvUsagePct === 0 ? l : undefined;
        },
        'no sequence running and no KV block held while the clients stall',
        60_000,
        () => JSON.stringify(last),
      );
      for (const s of streams) s.destroy();
      await until(
        async () => ((await load()).outstanding === 0 ? true : undefined),
        'the instance to let go of the streams',
      );
      const l = await load();
      assert.equal(l.kvUsagePct, 0);
      assert.equal(l.running, 0);
      console.log(
        `# 2 stalled streams (n=8 x 1000 tokens each): gateway retained heap ${mb(before.heapUsed)} -> peak ${mb(peakHeap)} MB (+${mb(peakHeap - before.heapUsed)}), rss ${mb(before.rss)} -> peak ${mb(peakRss)} MB; instance outstanding while stalled ${stalledLoad.outstanding}`,
      );
    });
  },
);
