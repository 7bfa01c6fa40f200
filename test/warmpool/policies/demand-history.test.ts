import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemandHistory } from '../../../warmpool/policies/index.ts';
import { HOUR, MIN, T0, historyOf } from './helpers.ts';

describe('DemandHistory', () => {
  it('counts arrivals per fine bucket and over any window', () => {
    const h = historyOf([T0 + 100, T0 + 900, T0 + 1500, T0 + 5000], T0 + 6000);
    assert.deepEqual([...h.series(T0, T0 + 6000, 1000)], [2, 1, 0, 0, 0, 1]);
    assert.equal(h.arrivals(T0, T0 + 2000), 3);
    assert.equal(h.arrivals(T0 + 1000, T0 + 5000), 1);
    assert.equal(h.totalArrivals, 4);
    assert.equal(h.firstArrivalAt, T0 + 100);
    assert.equal(h.lastArrivalAt, T0 + 5000);
  });

  it('wraps the fine ring and answers older windows from the coarse ring in whole buckets', () => {
    const o = { fineMs: 1000, fineKeepMs: 10_000, coarseMs: 5000, coarseKeepMs: 60_000 };
    const h = historyOf([T0 + 1000, T0 + 3000, T0 + 12_000, T0 + 24_000], T0 + 25_000, o);
    // Fine keeps the last ten buckets, [16 s, 26 s): the slot that held 3 s was reused after wrapping.
    assert.deepEqual([...h.series(T0, T0 + 5000, 1000)], [0, 0, 0, 0, 0]);
    assert.deepEqual([...h.series(T0 + 20_000, T0 + 25_000, 1000)], [0, 0, 0, 0, 1]);
    assert.deepEqual([...h.series(T0, T0 + 25_000, 5000)], [2, 0, 1, 0, 1]);
    // [0, 25 s): buckets older than the fine ring come from coarse ones, no bucket counted twice.
    assert.equal(h.arrivals(T0, T0 + 25_000), 4);
    assert.equal(h.arrivals(T0 + 10_000, T0 + 15_000), 1);
  });

  it('forgets what is older than its retention', () => {
    const o = { fineMs: 1000, fineKeepMs: 10_000, coarseMs: 5000, coarseKeepMs: 20_000 };
    const h = historyOf([T0 + 1000, T0 + 21_000], T0 + 30_000, o);
    assert.equal(h.arrivals(T0, T0 + 30_000), 1);
    assert.deepEqual([...h.series(T0, T0 + 30_000, 5000)], [0, 0, 0, 0, 1, 0]);
    assert.equal(h.totalArrivals, 2);
  });

  it('builds the idle-time histogram from closed coarse buckets', () => {
    const at = (m: number) => T0 + m * MIN + 30_000;
    const h = historyOf([at(0), at(3), at(4), at(10)], at(10) + 1000, { idleRangeBuckets: 6 });
    // Bucket 10 is still open: gaps 2 (0→3) and 0 (3→4) only.
    assert.deepEqual(h.idleHistogram(), [1, 0, 1, 0, 0, 0, 0]);
    h.advance(T0 + 11 * MIN);
    assert.deepEqual(h.idleHistogram(), [1, 0, 1, 0, 0, 1, 0]);
    h.add(at(30));
    h.advance(T0 + 31 * MIN);
    // 19 empty buckets is beyond the range of 6: the last bin.
    assert.deepEqual(h.idleHistogram(), [1, 0, 1, 0, 0, 1, 1]);
  });

  it('averages concurrency samples over a window', () => {
    const h = new DemandHistory();
    h.observeConcurrency(T0, 2);
    h.observeConcurrency(T0 + 500, 4);
    h.observeConcurrency(T0 + 1000, 6);
    assert.equal(h.concurrency(T0, T0 + 1000), 3);
    assert.equal(h.concurrency(T0, T0 + 2000), 4);
    assert.equal(h.concurrency(T0 + 2000, T0 + 3000), 0);
  });

  it('caches a memo for its validity and recomputes after', () => {
    const h = new DemandHistory();
    let calls = 0;
    const f = () => ++calls;
    assert.equal(h.memo('k', T0, 1000, f), 1);
    assert.equal(h.memo('k', T0 + 999, 1000, f), 1);
    assert.equal(h.memo('other', T0 + 999, 1000, f), 2);
    assert.equal(h.memo('k', T0 + 1000, 1000, f), 3);
    // Time going backwards is not a hit.
    assert.equal(h.memo('k', T0, 1000, f), 4);
  });

  it('rejects bad settings and arrivals before the newest bucket', () => {
    assert.throws(() => new DemandHistory({ fineMs: 0 }), RangeError);
    assert.throws(() => new DemandHistory({ fineMs: 1000, coarseMs: 1500 }), /multiple/);
    const h = historyOf([T0 + HOUR], T0 + HOUR);
    assert.throws(() => h.add(T0), RangeError);
    assert.throws(() => h.add(T0 + HOUR, -1), RangeError);
  });

  it('holds no bucket memory until a value arrives, and reads the same once one does', () => {
    const DAY = 24 * HOUR;
    const before = process.memoryUsage().arrayBuffers;
    const idle = Array.from({ length: 100 }, () => {
      const h = new DemandHistory();
      h.advance(T0);
      h.advance(T0 + 14 * DAY);
      return h;
    });
    // Allocated up front, the rings of 100 histories are ~25 MB (fine 3 x 3,600, coarse 20,160 buckets).
    assert.ok(process.memoryUsage().arrayBuffers - before < 1_000_000);
    const h = idle[0]!;
    assert.deepEqual([...h.series(T0, T0 + 3 * MIN, MIN)], [0, 0, 0]);
    assert.equal(h.concurrency(T0 + 14 * DAY - 5000, T0 + 14 * DAY), 0);
    // The first arrival after two weeks of nothing: counted where it falls, nothing older invented.
    const at = T0 + 14 * DAY + 30_000;
    h.add(at, 3);
    h.observeConcurrency(at, 2);
    h.advance(at + 2 * MIN);
    assert.equal(h.arrivals(at - HOUR, at + 1000), 3);
    assert.deepEqual([...h.series(T0 + 14 * DAY - MIN, T0 + 14 * DAY + 2 * MIN, MIN)], [0, 3, 0]);
    assert.equal(h.concurrency(at, at + 1000), 2);
    assert.equal(idle[1]!.arrivals(T0, T0 + 14 * DAY), 0);
  });
});
