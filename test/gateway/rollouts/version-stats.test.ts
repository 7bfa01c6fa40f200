// Version figures shared by gateway replicas through a real redis-server: two RedisVersionStats on one
// Redis (two replicas) each count part of the requests, and each one's figures are the union's (requests
// and errors exactly, the TTFT p90 within a histogram bucket of the exact one, which MemoryVersionStats
// computes from every sample). Time is explicit: no test sleeps on a window. With Redis stopped, counting
// goes on locally and the figures say so; state of a removed version is freed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MemoryVersionStats,
  RedisVersionStats,
  TTFT_BUCKET_RATIO,
  type VersionStats,
} from '../../../gateway/rollouts/index.ts';
import { until } from '../../faults/support.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';

/** On a minute's boundary plus 20 s, so a 60 s window spans two minute hashes. */
const T0 = 1_700_000_040_000 + 20_000;
const WINDOW = 60_000;
const POOLS = ['chat', 'chat@2'];

/** A deterministic stream of TTFTs (20 ms to ~2 s) and errors. */
function* requests(seed: number, n: number, from: number, stepMs: number) {
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    const error = x % 7 === 0;
    yield { at: from + i * stepMs, error, ttftMs: error ? null : 20 + (x % 2000) };
  }
}

describe('RedisVersionStats: figures shared by replicas (real redis-server)', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  const opened: RedisVersionStats[] = [];
  let prefixes = 0;
  /** Replicas on one prefix (one platform); each test has its own. */
  const replicas = (n: number, options: { readyTimeoutMs?: number } = {}) => {
    const keyPrefix = `wg:vstats-test${prefixes++}:`;
    return Array.from({ length: n }, () => {
      const s = new RedisVersionStats({ url: redis.url, keyPrefix, flushIntervalMs: 0, ...options });
      opened.push(s);
      return s;
    });
  };
  before(async () => {
    redis = await startRedisServer({ persist: true });
  });
  after(async () => {
    for (const s of opened) await s.close();
    await redis?.stop();
  });

  it("each replica's figures and totals are the union of both replicas' requests", async () => {
    const [a, b] = replicas(2);
    const union = new MemoryVersionStats();
    const note = (
      s: VersionStats,
      pool: string,
      r: { at: number; error: boolean; ttftMs: number | null },
    ) => {
      s.note(pool, r.at, r.error, r.ttftMs);
      union.note(pool, r.at, r.error, r.ttftMs);
    };
    for (const [i, pool] of POOLS.entries()) {
      for (const r of requests(1 + i, 300, T0 - 50_000, 150)) note(a!, pool, r);
      for (const r of requests(100 + i, 200, T0 - 40_000, 190)) note(b!, pool, r);
    }
    // Both have written their counts before either reads (flushes are otherwise every 500 ms).
    await a!.flush(T0);
    await b!.flush(T0);
    for (const s of [a!, b!]) await s.refresh(POOLS, T0, WINDOW);
    for (const s of [a!, b!]) {
      assert.equal(s.shared, true);
      for (const pool of POOLS) {
        const exact = union.figures(pool, T0, WINDOW);
        const got = s.figures(pool, T0, WINDOW);
        assert.equal(got.requests, 500);
        assert.equal(got.requests, exact.requests);
        assert.equal(got.errors, exact.errors);
        assert.ok(exact.errors > 0, 'the stream has errors');
        const width = exact.ttftP90Ms! * (TTFT_BUCKET_RATIO - 1);
        assert.ok(
          Math.abs(got.ttftP90Ms! - exact.ttftP90Ms!) <= width,
          `${pool}: p90 ${got.ttftP90Ms} against the exact ${exact.ttftP90Ms} (bucket ${width.toFixed(1)} ms)`,
        );
        assert.deepEqual(s.totals(pool), union.totals(pool));
      }
    }
    // A's next request shows at A at once, once only through its flush and the next read, and at B
    // after B's next read.
    a!.note('chat', T0 + 500, true, null);
    union.note('chat', T0 + 500, true, null);
    const later = T0 + 1000;
    const expected = union.figures('chat', later, WINDOW);
    assert.equal(a!.figures('chat', later, WINDOW).errors, expected.errors, 'not yet flushed');
    await a!.flush(later);
    assert.equal(a!.figures('chat', later, WINDOW).requests, expected.requests, 'flushed, not yet read');
    for (const s of [a!, b!]) {
      await s.refresh(POOLS, later, WINDOW);
      assert.equal(s.figures('chat', later, WINDOW).requests, expected.requests);
      assert.equal(s.figures('chat', later, WINDOW).errors, expected.errors);
      assert.deepEqual(s.totals('chat'), union.totals('chat'));
    }
  });

  it('a window holds only the seconds that start in (now - window, now]', async () => {
    const [a, b] = replicas(2);
    a!.note('chat', T0 - WINDOW, false, 100); // the window's open end: out
    a!.note('chat', T0 - 90_000, true, 100); // older: out
    b!.note('chat', T0 - WINDOW + 1000, false, 100); // the first second in
    b!.note('chat', T0, true, 100); // now: in
    a!.note('chat', T0 + 1000, false, 100); // later than now: out
    await a!.flush(T0);
    await b!.flush(T0);
    await a!.refresh(['chat'], T0, WINDOW);
    const f = a!.figures('chat', T0, WINDOW);
    assert.deepEqual([f.requests, f.errors], [2, 1]);
    assert.ok(Math.abs(f.ttftP90Ms! - 100) <= 100 * (TTFT_BUCKET_RATIO - 1), `p90 ${f.ttftP90Ms}`);
    // Thirty seconds on, from the same counts: only the request at T0 is left in a 30 s window.
    assert.equal(a!.figures('chat', T0 + 30_000, 30_000).requests, 1);
    assert.equal(a!.totals('chat').requests, 5, 'totals are not windowed');
  });

  it('with Redis stopped, notes are counted locally and figures say so; shared again once it is back', async () => {
    const [a, b] = replicas(2, { readyTimeoutMs: 300 });
    a!.note('chat', T0 - 2000, false, 50);
    b!.note('chat', T0 - 2000, true, null);
    await b!.flush(T0);
    await a!.refresh(['chat'], T0, WINDOW);
    assert.equal(a!.shared, true);
    assert.equal(a!.figures('chat', T0, WINDOW).requests, 2);

    await redis.kill();
    try {
      // No throw, no rejection: a request is never refused for the figures.
      a!.note('chat', T0 - 1000, true, null);
      await a!.refresh(['chat'], T0, WINDOW);
      await assert.rejects(a!.flush(T0), 'a flush says Redis is away');
      assert.equal(a!.shared, false);
      const f = a!.figures('chat', T0, WINDOW);
      assert.deepEqual([f.requests, f.errors], [2, 1]);
      assert.deepEqual(a!.totals('chat'), { requests: 2, errors: 1 }, "this replica's own, all of them");
    } finally {
      await redis.restart();
    }
    // The client reconnects on its own; the count made during the outage is written once.
    await until(
      async () => {
        await a!.refresh(['chat'], T0, WINDOW);
        return a!.shared ? true : undefined;
      },
      'a shared read once Redis is back',
      20_000,
    );
    assert.deepEqual(
      [a!.figures('chat', T0, WINDOW).requests, a!.figures('chat', T0, WINDOW).errors],
      [3, 2],
    );
    assert.deepEqual(a!.totals('chat'), { requests: 3, errors: 2 });
  });

  it("frees a removed version's counts; they are not written after", async () => {
    const [a, b] = replicas(2);
    a!.note('chat', T0, false, 10);
    a!.note('chat@2', T0, true, null);
    a!.keepOnly(new Set(['chat']));
    assert.deepEqual(a!.figures('chat@2', T0, WINDOW), { requests: 0, errors: 0, ttftP90Ms: null });
    assert.deepEqual(a!.totals('chat@2'), { requests: 0, errors: 0 });
    assert.equal(a!.figures('chat', T0, WINDOW).requests, 1, 'the kept pool is untouched');
    await a!.flush(T0);
    await b!.refresh(POOLS, T0, WINDOW);
    assert.equal(b!.figures('chat', T0, WINDOW).requests, 1);
    assert.equal(b!.figures('chat@2', T0, WINDOW).requests, 0);
  });
});

describe('MemoryVersionStats', () => {
  it("frees a removed version's counts", () => {
    const s = new MemoryVersionStats();
    s.note('chat', T0, false, 10);
    s.note('chat@2', T0, true, null);
    s.keepOnly(new Set(['chat']));
    assert.deepEqual(s.totals('chat@2'), { requests: 0, errors: 0 });
    assert.equal(s.figures('chat@2', T0, WINDOW).requests, 0);
    assert.deepEqual(s.totals('chat'), { requests: 1, errors: 0 });
  });
});
