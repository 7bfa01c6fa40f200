import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisHistoryStore } from '../../../gateway/request-history/index.ts';
import { RedisDemandFeed } from '../../../warmpool/demand-feed/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

const S = 1000;

/** Calls per command name since the server started, from INFO commandstats. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe('RedisDemandFeed', { timeout: 60_000 }, () => {
  const servers: RedisServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });
  async function newServer(): Promise<RedisServer> {
    const s = await startRedisServer();
    servers.push(s);
    return s;
  }

  it('keeps the histories through an outage, reports it, and catches up once Redis is back', async (t) => {
    const server = await newServer();
    const client = new Redis(server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 20,
    });
    client.on('error', () => undefined);
    t.after(() => client.disconnect());
    const store = new RedisHistoryStore({ client, flushIntervalMs: 0, keyPrefix: 'wg:o:' });
    const feed = new RedisDemandFeed({ client, keyPrefix: 'wg:o:', readyTimeoutMs: 300 });
    t.after(() => feed.close());
    t.after(() => store.close().catch(() => undefined));
    if (client.status !== 'ready') await once(client, 'ready');
    const t0 = Math.floor(Date.now() / S) * S;
    store.recordArrival('a', t0 - 5 * S);
    await store.flush();
    assert.ok((await feed.update(['a'], t0)).ok);
    const h = feed.history('a')!;
    assert.equal(h.totalArrivals, 1);

    await server.stop();
    // Right away (the client may not have seen the close yet) and once it is reconnecting.
    const first = await feed.update(['a', 'b'], t0 + 2 * S);
    assert.equal(first.ok, false);
    store.recordArrival('a', t0 + 100);
    await assert.rejects(store.flush());
    const down = await feed.update(['a', 'b'], t0 + 2 * S);
    assert.equal(down.ok, false);
    assert.ok(!down.ok && down.error instanceof Error);
    assert.equal(feed.history('a'), h, 'the history object is kept');
    assert.equal(h.totalArrivals, 1);
    assert.equal(feed.history('b'), undefined, 'nothing half-read is applied');

    await server.restart();
    if (client.status !== 'ready') await once(client, 'ready'); // it may already have reconnected
    await store.flush();
    const up = await feed.update(['a', 'b'], t0 + 2 * S);
    assert.ok(up.ok && up.backfilled === 1 && up.updated === 2);
    assert.equal(h.totalArrivals, 2, 'the arrival recorded during the outage is read once Redis has it');
    assert.equal(feed.history('b')!.totalArrivals, 0);
  });

  it('updates known deployments with one GETRANGE each and nothing else', async (t) => {
    const server = await newServer();
    const observer = new Redis(server.url);
    t.after(() => observer.quit());
    const store = new RedisHistoryStore({ url: server.url, flushIntervalMs: 0 });
    const feed = new RedisDemandFeed({ url: server.url });
    t.after(() => feed.close());
    t.after(() => store.close());
    // Keep the second update's reads inside one hour page: they run from the settle delay (1 s) before
    // t0 to t0 + 2 s, so t0 keeps 5 s from the hour's start and 10 s from its end (else the next hour's).
    const HOUR = 3_600_000;
    const now = Math.floor(Date.now() / S) * S;
    const intoHour = now % HOUR;
    const t0 =
      intoHour < 5 * S
        ? now - intoHour + 5 * S
        : intoHour > HOUR - 10 * S
          ? now - intoHour + HOUR + 5 * S
          : now;
    const names = Array.from({ length: 50 }, (_, i) => `d${i}`);
    for (const d of names) store.recordArrival(d, t0 - 3 * S);
    await store.flush();
    assert.ok((await feed.update(names, t0)).ok);
    for (const d of names) store.recordArrival(d, t0 + 500);
    await store.flush();
    const before = await commandCalls(observer);
    const u = await feed.update(names, t0 + 3 * S);
    const afterCalls = await commandCalls(observer);
    assert.ok(u.ok && u.updated === 50);
    const delta = new Map(
      [...afterCalls].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0),
    );
    delta.set('info', (delta.get('info') ?? 0) - 1); // the observer's own
    if (delta.get('info') === 0) delta.delete('info');
    assert.deepEqual(Object.fromEntries(delta), { getrange: 50 });
    for (const d of names) assert.equal(feed.history(d)!.totalArrivals, 2);
  });

  it('reports a deployment whose page cannot be read and updates the others', async (t) => {
    const server = await newServer();
    const redis = new Redis(server.url);
    t.after(() => redis.quit());
    const feed = new RedisDemandFeed({ url: server.url, keyPrefix: 'wg:w:' });
    t.after(() => feed.close());
    const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 10 * S;
    await redis.hset(`wg:w:bad:arr:1000:${t0 - 10 * S}`, 'x', '1'); // a hash where a page belongs
    const u = await feed.update(['good', 'bad'], t0 + 5 * S);
    assert.ok(u.ok);
    assert.equal(u.updated, 1);
    assert.deepEqual(
      u.failed.map((f) => f.deployment),
      ['bad'],
    );
    assert.match(u.failed[0]!.error.message, /WRONGTYPE/);
    assert.ok(feed.history('good'));
    assert.equal(feed.history('bad'), undefined);
  });
});
