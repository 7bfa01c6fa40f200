import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisHistoryStore, type RequestEnd } from '../../../gateway/request-history/index.ts';
import { recordRequest } from '../../support/record-request.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

function rec(at: number, promptTokens: number): RequestEnd {
  return { model: 'm', at, promptTokens, outputTokens: 1, ttftMs: null, outcome: 'ok' };
}

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('redis history store when Redis goes away', { timeout: 30_000 }, () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  const servers: RedisServer[] = [];
  before(() => process.on('unhandledRejection', onUnhandled));
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const server of servers) await server.stop();
  });
  // Each test has its own server, so one that fails mid-outage cannot leave the next without Redis.
  // They stop after the tests' own cleanup, so clients disconnect from a live server.
  async function newServer(): Promise<RedisServer> {
    const server = await startRedisServer();
    servers.push(server);
    return server;
  }

  it('keeps recording through an outage and writes everything once Redis is back', async (t) => {
    const server = await newServer();
    // A caller-owned client that reconnects quickly; the store does not quit it.
    const client = new Redis(server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 20,
    });
    client.on('error', () => undefined);
    t.after(() => client.disconnect());
    const store = new RedisHistoryStore({ client, flushIntervalMs: 20, keyPrefix: 'wg:outage:' });
    t.after(() => store.close().catch(() => undefined));
    const base = Math.floor(Date.now() / 60_000) * 60_000;

    await once(client, 'ready');
    await server.stop();
    const failedBefore = store.failedFlushes;
    for (let i = 1; i <= 4; i++) assert.doesNotThrow(() => recordRequest(store, rec(base + i * 1000, i)));
    await assert.rejects(store.flush());
    assert.equal(store.bufferedRecords, 0);
    // Four 1 s bucket hashes, one 60 s bucket hash, and the hour and day arrival pages.
    assert.equal(store.unsentKeys, 7, 'every key the failed flush carried is kept for the retry');
    // The background timer keeps failing too, quietly.
    await until(
      'three more failed flushes (one explicit, two from the timer)',
      () => store.failedFlushes >= failedBefore + 3,
    );
    recordRequest(store, rec(base + 4500, 10));
    assert.equal(store.droppedRecords, 0);

    await server.restart();
    await until('the client to reconnect', () => client.status === 'ready');
    await store.flush();
    assert.equal(store.unsentKeys, 0);
    const seconds = await store.series('m', base, base + 6000, 1000);
    assert.deepEqual(
      seconds.map((b) => [b.arrivals, b.promptTokens]),
      [
        [0, 0],
        [1, 1],
        [1, 2],
        [1, 3],
        [2, 14],
        [0, 0],
      ],
    );
    const [minute] = await store.series('m', base, base + 60_000, 60_000);
    assert.equal(minute!.arrivals, 5);
    assert.equal(minute!.promptTokens, 20);
    assert.deepEqual(unhandled, []);
  });

  it('drops the oldest records beyond maxBuffered and counts them', async (t) => {
    const server = await newServer();
    const store = new RedisHistoryStore({
      url: server.url,
      maxBuffered: 6,
      flushIntervalMs: 0,
      keyPrefix: 'wg:bound:',
    });
    t.after(() => store.close());
    const base = Math.floor(Date.now() / 1000) * 1000;
    // Each request is two records, its arrival and its end: the first two requests go.
    for (let i = 1; i <= 5; i++) recordRequest(store, rec(base, i));
    assert.equal(store.droppedRecords, 4);
    assert.equal(store.bufferedRecords, 6);
    await store.flush();
    const [b] = await store.series('m', base, base + 1000, 1000);
    assert.equal(b!.arrivals, 3);
    assert.equal(b!.promptTokens, 3 + 4 + 5);
    assert.deepEqual(unhandled, []);
  });
});
