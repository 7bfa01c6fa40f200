import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  MIN_FLUSH_SPACING_MS,
  RedisHistoryStore,
  type RequestEnd,
} from '../../../gateway/request-history/index.ts';
import { recordRequest } from '../../support/record-request.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function rec(model: string, at: number, over: Partial<RequestEnd> = {}): RequestEnd {
  return { model, at, promptTokens: 3, outputTokens: 5, ttftMs: null, outcome: 'ok', ...over };
}

/**
 * Counts the commands clients send (MONITOR shows every one with its source; those a script runs come
 * from 'lua' and are not the client's).
 */
async function watchCommands(url: string): Promise<{
  byName: Map<string, number>;
  /** Resolves once MONITOR shows `PING mark`: everything executed before it has been counted. */
  marked(mark: string): Promise<void>;
  stop(): void;
}> {
  const redis = new Redis(url);
  const monitor = await redis.monitor();
  const byName = new Map<string, number>();
  const marks = new Map<string, () => void>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    if (String(args[0]).toLowerCase() === 'ping' && marks.has(String(args[1])))
      return marks.get(String(args[1]))!();
    const name = String(args[0]).toLowerCase();
    byName.set(name, (byName.get(name) ?? 0) + 1);
  });
  return {
    byName,
    marked: (mark) => new Promise((resolve) => marks.set(mark, resolve)),
    stop() {
      monitor.disconnect();
      redis.disconnect();
    },
  };
}

describe('redis history store write cost', { timeout: 60_000 }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('sends at most one command per 10 ms under a high request rate, and loses no count', async (t) => {
    const observer = new Redis(server.url);
    t.after(() => observer.quit());
    // Size-triggered flushes every 100 records and a 10 ms timer: both must respect the spacing.
    const store = new RedisHistoryStore({
      url: server.url,
      keyPrefix: 'wg:rate:',
      flushIntervalMs: MIN_FLUSH_SPACING_MS,
      flushAtBuffered: 100,
    });
    t.after(() => store.close());
    recordRequest(store, rec('warm', Date.now()));
    await store.flush(); // connects and loads the script, outside the measured window

    const expected = new Map<string, number>(); // `${model}:${second}` -> arrivals
    const watch = await watchCommands(server.url);
    t.after(() => watch.stop());
    // MONITOR's confirmation has arrived, so every command from here on is seen.
    const started = performance.now();
    const N = 50_000;
    for (let i = 0; i < N; i++) {
      const model = `m${i % 7}`;
      const at = Date.now();
      recordRequest(store, rec(model, at, { outcome: i % 10 === 0 ? 'error' : 'ok' }));
      const k = `${model}:${Math.floor(at / 1000) * 1000}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
      // About 1-2 s of work: a batch, then let the event loop run timers and replies.
      if (i % 250 === 249) await new Promise((r) => setTimeout(r, 5));
      else if (i % 50 === 49) await yieldToLoop();
    }
    await store.flush();
    const elapsedMs = performance.now() - started;
    const marked = watch.marked('end');
    await observer.ping('end');
    await marked;
    watch.stop();
    const delta = watch.byName;
    const commands = [...delta.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(
      `${N} requests (${2 * N} records) in ${elapsedMs.toFixed(0)} ms: ${commands} commands (${JSON.stringify(Object.fromEntries(delta))})`,
    );
    assert.ok(
      commands <= elapsedMs / MIN_FLUSH_SPACING_MS + 1,
      `${commands} commands in ${elapsedMs.toFixed(0)} ms`,
    );
    assert.equal(store.droppedRecords, 0);
    assert.equal(store.unsentKeys, 0);

    let seen = 0;
    for (const [k, n] of expected) {
      const [model, second] = k.split(':') as [string, string];
      const s = Number(second);
      const [b] = await store.series(model, s, s + 1000, 1000);
      assert.equal(b!.arrivals, n, `arrivals of ${k}`);
      assert.equal(b!.promptTokens, 3 * n);
      seen += b!.arrivals;
    }
    assert.equal(seen, N);
    // The minute hashes and the arrival pages agree with the seconds.
    const pageTotal = async (key: string): Promise<number> => {
      const buf = (await observer.getBuffer(key)) ?? Buffer.alloc(0);
      let sum = 0;
      for (let i = 0; i + 4 <= buf.length; i += 4) sum += buf.readUInt32BE(i);
      return sum;
    };
    let pages = 0;
    for (const key of await observer.keys('wg:rate:m*:arr:1000:*')) pages += await pageTotal(key);
    assert.equal(pages, N);
  });

  it('turns every flush into one script call, reloading it when Redis lost it', async (t) => {
    const redis = new Redis(server.url);
    t.after(() => redis.quit());
    const store = new RedisHistoryStore({ url: server.url, keyPrefix: 'wg:noscript:', flushIntervalMs: 0 });
    t.after(() => store.close());
    const at = Date.now();
    recordRequest(store, rec('m', at));
    await store.flush();
    await redis.script('FLUSH');
    recordRequest(store, rec('m', at));
    await store.flush();
    const [b] = await store.series(
      'm',
      Math.floor(at / 1000) * 1000,
      Math.floor(at / 1000) * 1000 + 1000,
      1000,
    );
    assert.equal(b!.arrivals, 2);
  });

  it('retries only what failed: a key of the wrong type does not hold back or double the others', async (t) => {
    const redis = new Redis(server.url);
    t.after(() => redis.quit());
    const store = new RedisHistoryStore({ url: server.url, keyPrefix: 'wg:wt:', flushIntervalMs: 0 });
    t.after(() => store.close());
    const second = Math.floor(Date.now() / 1000) * 1000;
    const bad = `wg:wt:m:1000:${second}`;
    await redis.set(bad, 'not a hash');
    recordRequest(store, rec('m', second + 10));
    await assert.rejects(store.flush(), /WRONGTYPE/);
    assert.equal(store.unsentKeys, 1, 'only the 1 s bucket hash is kept for the retry');
    await redis.del(bad);
    await store.flush();
    assert.equal(store.unsentKeys, 0);
    const [b] = await store.series('m', second, second + 1000, 1000);
    assert.equal(b!.arrivals, 1);
    const [m] = await store.series(
      'm',
      Math.floor(second / 60_000) * 60_000,
      Math.floor(second / 60_000) * 60_000 + 60_000,
      60_000,
    );
    assert.equal(m!.arrivals, 1, 'the minute bucket landed once');
  });

  it("expires every key at the end of its retention (pages: their last bucket's)", async (t) => {
    const redis = new Redis(server.url);
    t.after(() => redis.quit());
    const store = new RedisHistoryStore({ url: server.url, keyPrefix: 'wg:ret:', flushIntervalMs: 0 });
    t.after(() => store.close());
    const at = Date.now() - 5000;
    recordRequest(store, rec('m', at));
    await store.flush();
    const sec = Math.floor(at / 1000) * 1000;
    const min = Math.floor(at / 60_000) * 60_000;
    const hour = Math.floor(at / HOUR) * HOUR;
    const day = Math.floor(at / DAY) * DAY;
    const expiry = async (k: string): Promise<number> => Number(await redis.call('PEXPIRETIME', k));
    assert.equal(await expiry(`wg:ret:m:1000:${sec}`), sec + HOUR);
    assert.equal(await expiry(`wg:ret:m:60000:${min}`), min + 14 * DAY);
    assert.equal(await expiry(`wg:ret:m:arr:1000:${hour}`), hour + HOUR + HOUR);
    assert.equal(await expiry(`wg:ret:m:arr:60000:${day}`), day + DAY + 14 * DAY);
  });

  it('refuses a flush interval under 10 ms (0 turns the timer off)', () => {
    assert.throws(
      () => new RedisHistoryStore({ url: server.url, flushIntervalMs: 5 }),
      /flushIntervalMs must be 0 \(off\) or >= 10, got 5/,
    );
  });
});
