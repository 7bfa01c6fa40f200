// A slow client against the gateway, with a synthetic instance (not the runtime: it speaks the instance
// protocol but never stops generating, which no real model here can do) so that a stream can outgrow
// every socket buffer on the way. The gateway must hold the instance back, not buffer what the client
// does not read. What it guarantees is a bound, not a moment when the flow stops (the kernel's buffers
// autotune and drain in bursts, and a busy machine pauses the gateway for whole seconds): while the client
// reads nothing, the instance gets to write at most what the socket buffers of the two hops hold plus the
// gateway's own high-water marks, and the gateway's memory stays flat.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { type RunningGateway, startGateway } from '../../gateway/server/index.ts';
import { deployment } from '../support/platform.ts';
import { sleep, until } from './support.ts';

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

/** The most a TCP socket's receive or send buffer autotunes to (the third field of tcp_rmem/tcp_wmem). */
const tcpMax = (name: 'tcp_rmem' | 'tcp_wmem') =>
  Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]);
/**
 * All the bytes that may sit between the instance and a client that reads nothing: on each of the two
 * hops the sender's send buffer and the receiver's receive buffer, plus the gateway's own buffers (its
 * stream queues and the Node writable buffers, tens of KiB; 4 MiB is generous).
 */
const IN_FLIGHT_BOUND = 2 * (tcpMax('tcp_rmem') + tcpMax('tcp_wmem')) + 4 * 2 ** 20;
/** How long the client stalls while the bound is checked: several seconds of a busy machine. */
const STALL_MS = 8_000;
/** The gateway's retained memory (heap and array buffers, after a full collection) may grow this much. */
const MEMORY_BOUND = 32 * 2 ** 20;

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

  it('while the client reads nothing the instance writes at most the socket buffers and the gateway memory stays flat; a gone client frees it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Retained by this process (the gateway; the synthetic instance holds at most one event unsent):
    // heap, and the array buffers that Buffers queued in a stream would live in.
    const memory = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const memoryBefore = memory();
    const port = Number(new URL(gw.url).port);
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const body = JSON.stringify({ model: 'endless', prompt: 'hi', max_tokens: 1000, stream: true });
    socket.write(
      `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await once(socket, 'data');
    socket.pause(); // reads nothing more

    // Over the whole stall, what the instance got to write never passes the bound.
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    const end = performance.now() + STALL_MS;
    let peakMemory = 0;
    while (performance.now() < end) {
      assert.ok(
        written <= IN_FLIGHT_BOUND,
        `the instance wrote ${mib(written)} MiB while the client read nothing, over the ${mib(IN_FLIGHT_BOUND)} MiB the socket buffers hold`,
      );
      peakMemory = Math.max(peakMemory, memory());
      await sleep(250);
    }
    console.log(
      `# while the client stalled ${STALL_MS / 1000} s the instance wrote ${mib(written)} MiB (bound ${mib(IN_FLIGHT_BOUND)} MiB: 2 x (tcp_rmem max + tcp_wmem max) + 4 MiB); gateway heap + array buffers ${mib(memoryBefore)} -> peak ${mib(peakMemory)} MiB`,
    );
    assert.ok(written <= IN_FLIGHT_BOUND, `the instance wrote ${mib(written)} MiB in all`);
    assert.ok(
      peakMemory - memoryBefore < MEMORY_BOUND,
      `the gateway does not hold what the client does not read: +${mib(peakMemory - memoryBefore)} MiB`,
    );

    socket.destroy();
    await until(
      () => (open === 0 ? true : undefined),
      'the upstream request to end when the client goes',
      10_000,
    );
  });
});
