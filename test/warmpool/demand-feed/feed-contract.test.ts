import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  MemoryHistoryStore,
  RedisHistoryStore,
  type HistoryStore,
} from '../../../gateway/request-history/index.ts';
import type { Clock } from '../../../runtime/time/clock.ts';
import { MemoryDemandFeed, RedisDemandFeed, type DemandFeed } from '../../../warmpool/demand-feed/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { clockReading } from '../../support/clock-reading.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

type Pair = { store: HistoryStore; feed: DemandFeed };
type Factory = (clock: Clock) => Pair;

/** What every DemandFeed must do over the store it reads. Times sit near the real clock (Redis expires by it). */
function feedContract(name: string, factory: Factory): void {
  describe(`DemandFeed contract: ${name}`, () => {
    // "now" is the real second; the records go back three days.
    const t = Math.floor(Date.now() / S) * S;
    let clock = t;
    let pairs: Pair[] = [];
    const make = (): Pair => {
      const p = factory(clockReading(() => clock));
      pairs.push(p);
      return p;
    };
    afterEach(async () => {
      for (const p of pairs) {
        await p.feed.close();
        await p.store.close();
      }
      pairs = [];
      clock = t;
    });
    const minute = (at: number): number => Math.floor(at / M) * M;

    it('backfills 14 days on first sight: minutes beyond the last hour, seconds within it', async () => {
      const { store, feed } = make();
      const arrivals = [
        minute(t - 3 * D) + 10 * S,
        minute(t - 3 * D) + 20 * S,
        t - 2 * H,
        t - 30 * M,
        t - 30 * M + 1,
        t - 30 * M + 2,
        t - 5 * S,
      ];
      for (const at of arrivals) store.recordArrival('a', at);
      store.recordArrival('other', t - 10 * S);
      await store.flush();

      const u = await feed.update(['a', 'idle'], t);
      assert.ok(u.ok, 'update should succeed');
      assert.equal(u.readThrough, t - S);
      assert.equal(u.backfilled, 2);
      const h = feed.history('a')!;
      assert.equal(h.totalArrivals, 7);
      assert.equal(h.arrivals(t - 14 * D, t), 7);
      // Seconds in the last hour, where they happened.
      const fine = h.series(t - H + M, t, S);
      const at = (x: number): number => fine[(x - (t - H + M)) / S]!;
      assert.equal(at(t - 30 * M), 3);
      assert.equal(at(t - 5 * S), 1);
      assert.equal(
        fine.reduce((a, b) => a + b, 0),
        4,
      );
      // Minutes further back.
      const coarse = h.series(minute(t - 3 * D), minute(t - 3 * D) + 2 * M, M);
      assert.deepEqual([...coarse], [2, 0]);
      assert.equal(h.series(minute(t - 2 * H), minute(t - 2 * H) + M, M)[0], 1);
      assert.equal(feed.history('idle')!.totalArrivals, 0);
      assert.equal(feed.history('other'), undefined, 'only named deployments are followed');
    });

    it('then reads only the newly settled seconds, once', async () => {
      const { store, feed } = make();
      store.recordArrival('a', t - 10 * S);
      await store.flush();
      assert.ok((await feed.update(['a'], t)).ok);
      store.recordArrival('a', t - 500); // settled at t + 1000
      store.recordArrival('a', t + 200);
      store.recordArrival('a', t + 300);
      store.recordArrival('a', t + 1500); // not settled at t + 2000
      clock = t + 2000;
      await store.flush();
      const h = feed.history('a')!;

      const u1 = await feed.update(['a'], t + 2000);
      assert.ok(u1.ok && u1.readThrough === t + S && u1.backfilled === 0);
      assert.deepEqual([...h.series(t - S, t + 2 * S, S)], [1, 2, 0]);
      assert.equal(h.totalArrivals, 4);
      // The same instant again reads nothing twice; later, the next second arrives.
      assert.ok((await feed.update(['a'], t + 2000)).ok);
      assert.equal(h.totalArrivals, 4);
      assert.ok((await feed.update(['a'], t + 3100)).ok);
      assert.deepEqual([...h.series(t - S, t + 2 * S, S)], [1, 2, 1]);
      assert.equal(h.totalArrivals, 5);
      assert.equal(h.lastArrivalAt, t + S);
    });

    it("sums a base's own arrivals and its adapters' into the base's history, each adapter also its own", async () => {
      const { store, feed } = make();
      for (const at of [t - 2 * D, t - 30 * M, t - 5 * S]) store.recordArrival('base', at);
      for (const at of [t - 2 * D, t - 10 * S]) store.recordArrival('ad-1', at);
      store.recordArrival('ad-2', t - 5 * S);
      store.recordArrival('unrelated', t - 5 * S);
      await store.flush();
      const u = await feed.update([{ name: 'base', sources: ['base', 'ad-1', 'ad-2'] }, 'ad-1'], t);
      assert.ok(u.ok && u.updated === 2);
      const base = feed.history('base')!;
      assert.equal(base.totalArrivals, 6);
      assert.equal(base.series(t - 10 * S, t - 4 * S, S)[5], 2, 'base and ad-2 in the same second');
      assert.equal(feed.history('ad-1')!.totalArrivals, 2);
      // Newly settled seconds are summed too.
      store.recordArrival('ad-2', t + 100);
      store.recordArrival('base', t + 200);
      clock = t + 2000;
      await store.flush();
      assert.ok((await feed.update([{ name: 'base', sources: ['base', 'ad-1', 'ad-2'] }], t + 2000)).ok);
      assert.equal(base.totalArrivals, 8);
      assert.equal(base.series(t, t + S, S)[0], 2);
    });

    it('forgets a deployment and backfills it again when it comes back', async () => {
      const { store, feed } = make();
      store.recordArrival('a', t - 2 * D);
      store.recordArrival('a', t - 20 * S);
      await store.flush();
      assert.ok((await feed.update(['a'], t)).ok);
      feed.forget('a');
      assert.equal(feed.history('a'), undefined);
      const u = await feed.update(['a'], t + S);
      assert.ok(u.ok && u.backfilled === 1);
      assert.equal(feed.history('a')!.totalArrivals, 2);
    });
  });
}

describe('demand feeds', { timeout: 60_000 }, () => {
  feedContract('memory', (clock) => {
    const store = new MemoryHistoryStore({ clock });
    return { store, feed: new MemoryDemandFeed({ store }) };
  });

  let server: RedisServer;
  let n = 0;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });
  feedContract('redis', (clock) => {
    const keyPrefix = `wg:feed${++n}:`;
    const store = new RedisHistoryStore({ url: server.url, clock, keyPrefix, flushIntervalMs: 0 });
    return { store, feed: new RedisDemandFeed({ url: server.url, keyPrefix }) };
  });
});
