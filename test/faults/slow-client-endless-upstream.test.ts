// A slow client against the gateway, with a synthetic instance (not the runtime: it speaks the instance
// protocol but never stops generating, which no real model here can do) so that a stream can outgrow
// every socket buffer on the way. The gateway must hold the instance back, not buffer what the client
// does not read: the bytes the instance gets to write level off while the client stalls.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { type RunningGateway, startGateway } from '../../gateway/server/index.ts';
import { deployment } from '../support/platform.ts';

const LOAD = JSON.stringify({
  model: 'endless',
  kind: 'generative',
  state: 'ready',
  running: 0,
  waiting: 0,
  kvUsagePct: 0,
  kvFreeBlocks: 64,
  kvTotalBlocks: 64,
  prefixHitRate: 0,
  prefixHitTokens: 0,
  prefixQueryTokens: 0,
  recentTokensPerSec: 0,
});
const METADATA = JSON.stringify({
  model: 'endless',
  kind: 'generative',
  vocabSize: 257,
  contextLength: 1024,
  maxN: 8,
});
// ~1 KiB per token event: a stream outgrows the kernel's socket buffers within a few thousand events.
const TOKEN = `${JSON.stringify({ type: 'token', index: 0, token: 104, text: 'h'.repeat(960), logprob: 0, top: [] })}\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slow client, synthetic endless instance (not the runtime): the gateway applies backpressure', () => {
  let upstream: Server;
  let gw: RunningGateway;
  let written = 0;
  let open = 0;

  /** Writes token events for as long as the gateway takes them, waiting on 'drain' as a runtime does. */
  async function endless(res: ServerResponse): Promise<void> {
    open++;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-warmgate-load': LOAD });
    try {
      while (!res.destroyed) {
        written += TOKEN.length;
        if (!res.write(TOKEN)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
      }
    } finally {
      open--;
    }
  }

  before(async () => {
    upstream = createServer((req, res) => {
      const json = (body: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      if (req.method === 'GET' && (req.url === '/ready' || req.url === '/live'))
        return json('{"ready":true,"state":"ready"}');
      if (req.method === 'GET' && req.url === '/load') return json(LOAD);
      if (req.method === 'GET' && req.url === '/metadata') return json(METADATA);
      if (req.method === 'POST' && req.url === '/generate') {
        req.resume();
        req.on('end', () => void endless(res));
        return;
      }
      res.writeHead(404).end();
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gw = await startGateway({
      port: 0,
      deployments: [deployment('endless', 'generative', 'tiny')],
      instances: [{ deployment: 'endless', url }],
      upstreamIdleTimeoutMs: 120_000,
    });
  });
  after(async () => {
    await gw?.close();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('while the client reads nothing the instance is held back and the gateway heap stays flat; a gone client frees it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const heapBefore = heap();
    const port = Number(new URL(gw.url).port);
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const body = JSON.stringify({ model: 'endless', prompt: 'hi', max_tokens: 1000, stream: true });
    socket.write(
      `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await once(socket, 'data');
    socket.pause(); // reads nothing more

    // Whatever the socket buffers take, the flow stops: a plateau, not a rate.
    let previous = -1;
    for (let i = 0; i < 40 && written !== previous; i++) {
      previous = written;
      await sleep(500);
    }
    const plateau = written;
    await sleep(2000);
    const heapStalled = heap();
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(
      `# instance wrote ${mib(plateau)} MiB then was held back (${mib(written - plateau)} MiB more in 2 s); gateway heap ${mib(heapBefore)} -> ${mib(heapStalled)} MiB`,
    );
    assert.equal(written, plateau, 'the instance is held back while the client stalls');
    assert.ok(plateau < 256 * 2 ** 20, `bounded by socket buffers, not by the stream: ${mib(plateau)} MiB`);
    assert.ok(
      heapStalled - heapBefore < Math.max(32 * 2 ** 20, plateau / 2),
      `the gateway does not hold what the client does not read: heap +${mib(heapStalled - heapBefore)} MiB`,
    );

    socket.destroy();
    for (let i = 0; i < 100 && open > 0; i++) await sleep(100);
    assert.equal(open, 0, 'the upstream request ends when the client goes');
  });
});
