import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  MemoryHistoryStore,
  RedisHistoryStore,
  type Bucket,
  type HistoryStore,
  type RequestEnd,
  type Resolution,
} from '../../../gateway/request-history/index.ts';
import type { Clock } from '../../../runtime/time/clock.ts';
import { clockReading } from '../../support/clock-reading.ts';
import { recordRequest } from '../../support/record-request.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

type Factory = (o: { resolutions?: readonly Resolution[]; clock: Clock }) => HistoryStore;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function rec(at: number, over: Partial<RequestEnd> = {}): RequestEnd {
  return { model: 'm', at, promptTokens: 1, outputTokens: 1, ttftMs: null, outcome: 'ok', ...over };
}

function bucket(start: number, c: Partial<Omit<Bucket, 'start'>> = {}): Bucket {
  const zero = { arrivals: 0, promptTokens: 0, outputTokens: 0, errors: 0, ttftMsSum: 0, ttftCount: 0 };
  return { start, ...zero, ...c };
}

/** The behaviour every HistoryStore must have. Timestamps sit near the real time so Redis keeps the keys. */
function historyContract(name: string, factory: Factory): void {
  describe(`HistoryStore contract: ${name}`, () => {
    // 10 minutes ago, on a minute boundary; the injected clock reads "now" as 10 minutes later.
    const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    let clock = t0 + 10 * MINUTE;
    let stores: HistoryStore[] = [];
    const make = (resolutions?: readonly Resolution[]): HistoryStore => {
      const s = factory({ resolutions, clock: clockReading(() => clock) });
      stores.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of stores) await s.close();
      stores = [];
      clock = t0 + 10 * MINUTE;
    });

    it('puts records in 1 s buckets and sums them into coarser requested buckets', async () => {
      const s = make();
      recordRequest(s, rec(t0 + 100, { promptTokens: 10, outputTokens: 20, ttftMs: 50.4 }));
      recordRequest(s, rec(t0 + 999, { promptTokens: 1, outputTokens: 2 }));
      recordRequest(s, rec(t0 + 1000, { promptTokens: 5, outputTokens: 0, outcome: 'error' }));
      recordRequest(s, rec(t0 + 61_500, { promptTokens: 7, outputTokens: 3, ttftMs: 30 }));
      await s.flush();
      assert.deepEqual(await s.series('m', t0, t0 + 3000, 1000), [
        bucket(t0, { arrivals: 2, promptTokens: 11, outputTokens: 22, ttftMsSum: 50, ttftCount: 1 }),
        bucket(t0 + 1000, { arrivals: 1, promptTokens: 5, errors: 1 }),
        bucket(t0 + 2000),
      ]);
      assert.deepEqual(await s.series('m', t0, t0 + 3 * MINUTE, MINUTE), [
        bucket(t0, {
          arrivals: 3,
          promptTokens: 16,
          outputTokens: 22,
          errors: 1,
          ttftMsSum: 50,
          ttftCount: 1,
        }),
        bucket(t0 + MINUTE, { arrivals: 1, promptTokens: 7, outputTokens: 3, ttftMsSum: 30, ttftCount: 1 }),
        bucket(t0 + 2 * MINUTE),
      ]);
      // 5 s buckets from 1 s ones; the last step is cut short by toMs but still a whole bucket.
      const fives = await s.series('m', t0, t0 + 6000, 5000);
      assert.deepEqual(
        fives.map((b) => [b.start, b.arrivals]),
        [
          [t0, 3],
          [t0 + 5000, 0],
        ],
      );
    });

    it('reads history older than the 1 s retention from the 60 s buckets', async () => {
      const old = t0 - 2 * HOUR;
      const s = make();
      recordRequest(s, rec(old + 500, { promptTokens: 3 }));
      recordRequest(s, rec(old + 59_500, { promptTokens: 4 }));
      recordRequest(s, rec(old + MINUTE, { promptTokens: 5, outcome: 'rejected' }));
      await s.flush();
      assert.deepEqual(await s.series('m', old, old + 3 * MINUTE, MINUTE), [
        bucket(old, { arrivals: 2, promptTokens: 7, outputTokens: 2 }),
        bucket(old + MINUTE, { arrivals: 1, promptTokens: 5, outputTokens: 1, errors: 1 }),
        bucket(old + 2 * MINUTE),
      ]);
      // Only the 1 s resolution divides 1000 ms, and its buckets that old are gone.
      const seconds = await s.series('m', old, old + 2000, 1000);
      assert.deepEqual(seconds, [bucket(old), bucket(old + 1000)]);
    });

    it('counts error and rejected as errors, not aborted; averages ttft only where there was one', async () => {
      const s = make();
      const outcomes = ['ok', 'error', 'rejected', 'aborted'] as const;
      outcomes.forEach((outcome, i) =>
        recordRequest(s, rec(t0 + i, { outcome, ttftMs: i % 2 === 0 ? 10 + i : null })),
      );
      await s.flush();
      const [b] = await s.series('m', t0, t0 + 1000, 1000);
      assert.deepEqual(
        b,
        bucket(t0, { arrivals: 4, promptTokens: 4, outputTokens: 4, errors: 2, ttftMsSum: 22, ttftCount: 2 }),
      );
    });

    it('keeps models apart', async () => {
      const s = make();
      recordRequest(s, rec(t0, { model: 'a', promptTokens: 2 }));
      recordRequest(s, rec(t0, { model: 'b', promptTokens: 30 }));
      recordRequest(s, rec(t0 + 1000, { model: 'b', promptTokens: 40 }));
      await s.flush();
      const a = await s.series('a', t0, t0 + 2000, 1000);
      const b = await s.series('b', t0, t0 + 2000, 1000);
      const none = await s.series('c', t0, t0 + 2000, 1000);
      assert.deepEqual(
        a.map((x) => x.promptTokens),
        [2, 0],
      );
      assert.deepEqual(
        b.map((x) => x.promptTokens),
        [30, 40],
      );
      assert.deepEqual(none, [bucket(t0), bucket(t0 + 1000)]);
    });

    it('forgets buckets older than a short configured retention', async () => {
      // The clock is the real second (Redis expires by its own clock); 1 s buckets kept 3 s.
      const now = Math.floor(Date.now() / 1000) * 1000;
      clock = now;
      const s = make([{ bucketMs: 1000, retentionMs: 3000 }]);
      recordRequest(s, rec(now - 10_000 + 100)); // expired 7 s ago
      recordRequest(s, rec(now - 4000 + 100)); // expired 1 s ago
      recordRequest(s, rec(now - 1000 + 100, { promptTokens: 9 })); // alive for 2 more seconds
      await s.flush();
      const got = await s.series('m', now - 10_000, now, 1000);
      assert.deepEqual(
        got.map((b) => b.arrivals),
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
      );
      assert.equal(got[9]!.promptTokens, 9);
    });

    it("counts an arrival when it comes, and adds the request's end to the arrival's bucket without counting it again", async () => {
      const s = make();
      clock = t0 + 100;
      s.recordArrival('m', t0 + 100);
      await s.flush();
      assert.deepEqual(await s.series('m', t0, t0 + 1000, 1000), [bucket(t0, { arrivals: 1 })], 'in flight');
      // It ends 5 s later: the tokens, TTFT and outcome join the second it arrived in.
      clock = t0 + 5100;
      s.recordEnd(rec(t0 + 100, { promptTokens: 6, outputTokens: 4, ttftMs: 3000, outcome: 'error' }));
      // A request aborted before anything: its arrival, and an end with nothing to add.
      s.recordArrival('m', t0 + 200);
      s.recordEnd(rec(t0 + 200, { promptTokens: 0, outputTokens: 0, outcome: 'aborted' }));
      await s.flush();
      assert.deepEqual(await s.series('m', t0, t0 + 6000, 1000), [
        bucket(t0, {
          arrivals: 2,
          promptTokens: 6,
          outputTokens: 4,
          errors: 1,
          ttftMsSum: 3000,
          ttftCount: 1,
        }),
        ...[1, 2, 3, 4, 5].map((i) => bucket(t0 + i * 1000)),
      ]);
    });

    it('refuses a bucket size no resolution divides, and a malformed record', async () => {
      const s = make();
      await assert.rejects(s.series('m', t0, t0 + 3000, 1500), RangeError);
      assert.throws(() => s.recordArrival('m', Number.NaN), RangeError);
      assert.throws(() => s.recordArrival('', t0), RangeError);
      assert.throws(() => s.recordEnd(rec(t0, { promptTokens: -1 })), RangeError);
      assert.throws(() => s.recordEnd(rec(t0, { ttftMs: -1 })), RangeError);
      await s.flush();
      assert.deepEqual(await s.series('m', t0, t0 + 1000, 1000), [bucket(t0)]);
    });
  });
}

describe('history stores', { timeout: 30_000 }, () => {
  historyContract('memory', (o) => new MemoryHistoryStore(o));

  let server: RedisServer;
  let n = 0;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });
  historyContract(
    'redis',
    (o) => new RedisHistoryStore({ ...o, url: server.url, keyPrefix: `wg:test${++n}:` }),
  );

  describe('memory store specifics', () => {
    it('drops a bucket once the clock passes its start plus retention', async () => {
      let now = 1_000_000;
      const s = new MemoryHistoryStore({
        resolutions: [{ bucketMs: 1000, retentionMs: 3000 }],
        clock: clockReading(() => now),
      });
      recordRequest(s, rec(now + 500));
      now += 2999;
      assert.equal((await s.series('m', 1_000_000, 1_001_000, 1000))[0]!.arrivals, 1);
      now += 1;
      recordRequest(s, rec(now)); // also prunes
      assert.equal((await s.series('m', 1_000_000, 1_001_000, 1000))[0]!.arrivals, 0);
      assert.equal((await s.series('m', now, now + 1000, 1000))[0]!.arrivals, 1);
    });
  });

  describe('redis store specifics', () => {
    it('writes one hash per (model, resolution, bucket) that Redis expires at start + retention', async (t) => {
      const redis = new Redis(server.url);
      t.after(() => redis.quit());
      const base = Math.floor(Date.now() / MINUTE) * MINUTE;
      const s = new RedisHistoryStore({ url: server.url, keyPrefix: 'wg:layout:' });
      t.after(() => s.close());
      recordRequest(s, {
        model: 'llm',
        at: base + 1234,
        promptTokens: 120,
        outputTokens: 80,
        ttftMs: 95.2,
        outcome: 'error',
      });
      await s.flush();
      const all = (await redis.keys('wg:layout:*')).sort();
      // The store's flush fence (flush-script.ts): one small hash per store, kept as long as the longest retention.
      const fences = all.filter((k) => k.startsWith('wg:layout:_flush:'));
      assert.equal(fences.length, 1);
      assert.match(fences[0]!, /^wg:layout:_flush:[0-9a-f]{16}$/);
      assert.deepEqual(await redis.hgetall(fences[0]!), { applied: '1', reply: '[""]' });
      const fenceTtl = await redis.pttl(fences[0]!);
      assert.ok(fenceTtl > 14 * 24 * HOUR - 60_000 && fenceTtl <= 14 * 24 * HOUR, `fence ttl ${fenceTtl}`);
      const keys = all.filter((k) => !fences.includes(k));
      const hour = Math.floor(base / HOUR) * HOUR;
      const day = Math.floor(base / (24 * HOUR)) * 24 * HOUR;
      assert.deepEqual(keys, [
        `wg:layout:llm:1000:${base + 1000}`,
        `wg:layout:llm:60000:${base}`,
        `wg:layout:llm:arr:1000:${hour}`,
        `wg:layout:llm:arr:60000:${day}`,
      ]);
      assert.deepEqual(await redis.hgetall(`wg:layout:llm:1000:${base + 1000}`), {
        arrivals: '1',
        promptTokens: '120',
        outputTokens: '80',
        errors: '1',
        ttftMsSum: '95',
        ttftCount: '1',
      });
      // Expiry is absolute (PEXPIREAT: the bucket's end plus its retention), so it is compared exactly,
      // with no clock read on this side racing Redis's.
      const expiresAt = (key: string) => redis.call('PEXPIRETIME', key) as Promise<number>;
      assert.equal(await expiresAt(`wg:layout:llm:1000:${base + 1000}`), base + 1000 + HOUR, '1 s bucket');
      assert.equal(await expiresAt(`wg:layout:llm:60000:${base}`), base + 14 * 24 * HOUR, '60 s bucket');
      const bytes = Number(
        await redis.call('MEMORY', 'USAGE', `wg:layout:llm:1000:${base + 1000}`, 'SAMPLES', '0'),
      );
      t.diagnostic(`MEMORY USAGE of one 6-field bucket hash: ${bytes} bytes`);
      assert.ok(bytes > 0 && bytes < 256, `a bucket hash should be small, got ${bytes} bytes`);
    });
  });
});
