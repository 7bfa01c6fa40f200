// A request still in flight when the demand feed reads its second is in the controller's history: the
// gateway counts its arrival when it comes, not when it ends. The feed reads each second once, a settle
// delay (1 s) after it closes, so a request counted only at its end (one that waited out a cold start
// longer than that) would land in a second already read and never be seen. Through a real gateway, with
// the memory store and the Redis store (a real redis-server), and a synthetic instance that holds the
// request until the test lets it answer.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type HistoryStore,
  MemoryHistoryStore,
  RedisHistoryStore,
} from '../../../gateway/request-history/index.ts';
import { startGateway } from '../../../gateway/server/index.ts';
import { type DemandFeed, MemoryDemandFeed, RedisDemandFeed } from '../../../warmpool/demand-feed/index.ts';
import { deployment } from '../../support/platform.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

const LOAD = JSON.stringify({
  model: 'slow',
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
  model: 'slow',
  kind: 'generative',
  vocabSize: 257,
  contextLength: 1024,
  maxN: 8,
});
const ANSWER =
  '{"type":"token","index":0,"token":104,"text":"h","logprob":0,"top":[]}\n' +
  '{"type":"finish","index":0,"reason":"length","text":"","promptTokens":2,"completionTokens":1,"preemptions":0}\n';
/** The feed's default settle delay. */
const SETTLE_MS = 1000;

/** An instance that tells when a generation reaches it, and answers it only once released. */
async function startHoldingInstance() {
  let arrived: () => void = () => undefined;
  let release: () => void = () => undefined;
  const reached = new Promise<void>((r) => (arrived = r));
  const released = new Promise<void>((r) => (release = r));
  const server: Server = createServer((req, res) => {
    const json = (body: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (req.method === 'GET' && (req.url === '/ready' || req.url === '/live'))
      return json('{"ready":true,"state":"ready"}');
    if (req.method === 'GET' && req.url === '/load') return json(LOAD);
    if (req.method === 'GET' && req.url === '/metadata') return json(METADATA);
    if (req.method === 'POST' && req.url === '/generate') {
      req.resume();
      req.on('end', () => {
        arrived();
        void released.then(() =>
          res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-warmgate-load': LOAD }).end(ANSWER),
        );
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reached,
    release,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function inFlightContract(name: string, make: () => { store: HistoryStore; feed: DemandFeed }): void {
  it(`${name}: the feed sees a request that outlasts its settle delay, once`, async (t) => {
    const instance = await startHoldingInstance();
    t.after(() => instance.close());
    const { store, feed } = make();
    t.after(() => feed.close());
    // The gateway closes the store it is given.
    const gw = await startGateway({
      port: 0,
      deployments: [deployment('slow', 'generative', 'tiny')],
      instances: [{ deployment: 'slow', url: instance.url }],
      history: store,
    });
    t.after(() => gw.close());

    const sentAt = Date.now();
    const reply = fetch(`${gw.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow', prompt: 'hi', max_tokens: 1 }),
    });
    await instance.reached;
    const arrivedBy = Date.now();
    // The feed reads as it would once the request's second has closed and settled; it is still in flight.
    const settled = arrivedBy + SETTLE_MS + 1000;
    await store.flush();
    const first = await feed.update(['slow'], settled);
    assert.ok(first.ok, 'the feed reads');
    const history = feed.history('slow')!;
    assert.equal(history.totalArrivals, 1, 'the request in flight is in the history');

    instance.release();
    const res = await reply;
    assert.equal(res.status, 200);
    await res.json();
    await store.flush();
    const later = await feed.update(['slow'], settled + 5000);
    assert.ok(later.ok);
    assert.equal(history.totalArrivals, 1, 'its end does not count it again');
    // The end's counts are in the store, with the one arrival.
    const from = Math.floor(sentAt / 1000) * 1000;
    const buckets = await store.series('slow', from, Math.floor(arrivedBy / 1000) * 1000 + 1000, 1000);
    const sum = (k: 'arrivals' | 'promptTokens' | 'outputTokens' | 'ttftCount') =>
      buckets.reduce((a, b) => a + b[k], 0);
    assert.deepEqual(
      [sum('arrivals'), sum('promptTokens'), sum('outputTokens'), sum('ttftCount')],
      [1, 2, 1, 1],
    );
  });
}

describe('a request in flight past the demand feed settle delay', { timeout: 60_000 }, () => {
  inFlightContract('memory store', () => {
    const store = new MemoryHistoryStore();
    return { store, feed: new MemoryDemandFeed({ store }) };
  });

  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });
  inFlightContract('redis store', () => {
    const keyPrefix = 'wg:inflight:';
    return {
      store: new RedisHistoryStore({ url: server.url, keyPrefix, flushIntervalMs: 0 }),
      feed: new RedisDemandFeed({ url: server.url, keyPrefix }),
    };
  });
});
