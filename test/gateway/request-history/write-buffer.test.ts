import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestEnd } from '../../../gateway/request-history/index.ts';
import { WriteBuffer } from '../../../gateway/request-history/write-buffer.ts';

const HOUR = 3_600_000;
const res = [{ bucketMs: 1000, retentionMs: HOUR }];
const end = (at: number, over: Partial<RequestEnd> = {}): RequestEnd => ({
  model: 'm',
  at,
  promptTokens: 1,
  outputTokens: 1,
  ttftMs: 1,
  outcome: 'ok',
  ...over,
});

describe('history WriteBuffer: arrivals and ends', () => {
  it("adds an end to its arrival's hash, never to the arrivals page; an end with nothing to add makes no key", () => {
    const h = Math.floor(Date.now() / HOUR) * HOUR;
    const buf = new WriteBuffer(1000, res, 'p:', 100);
    buf.pushArrival('m', h + 1000);
    buf.pushEnd(end(h + 1000, { promptTokens: 4, outputTokens: 2, ttftMs: 7.6, outcome: 'error' }));
    buf.pushEnd(end(h + 5000, { promptTokens: 0, outputTokens: 0, ttftMs: null, outcome: 'aborted' }));
    assert.equal(buf.size, 3);
    assert.deepEqual(
      buf.take(h + 6000).map((w) => [w.kind, w.key, w.incr]),
      [
        [
          'hash',
          `p:m:1000:${h + 1000}`,
          { arrivals: 1, promptTokens: 4, outputTokens: 2, errors: 1, ttftMsSum: 8, ttftCount: 1 },
        ],
        ['page', `p:m:arr:1000:${h}`, { 1: 1 }],
      ],
    );
  });
});

describe('history WriteBuffer past maxUnsentKeys', () => {
  it("drops second hashes before the last hour's arrivals page, though that page expires first", () => {
    // Three arrivals at the end of one hour and three at the start of the next: two pages and six
    // hashes. The first page expires at the end of the next hour, before the next hour's seconds do.
    const h = Math.floor(Date.now() / HOUR) * HOUR + HOUR;
    const buf = new WriteBuffer(1000, res, 'p:', 4);
    for (const at of [h - 3000, h - 2000, h - 1000, h, h + 1000, h + 2000]) buf.pushArrival('m', at);
    const writes = buf.take(h + 3000);
    const pages = writes.filter((w) => w.kind === 'page');
    assert.equal(pages.length, 2, 'both pages kept');
    const slots = pages.flatMap((p) => Object.values(p.incr));
    assert.equal(
      slots.reduce((a, b) => a + b, 0),
      6,
      'every arrival on a page',
    );
    const hashes = writes.filter((w) => w.kind === 'hash').map((w) => w.key);
    assert.deepEqual(hashes, [`p:m:1000:${h + 1000}`, `p:m:1000:${h + 2000}`], 'the newest seconds kept');
    assert.equal(buf.droppedKeys, 4);
    assert.equal(buf.droppedArrivals, 4);
  });
});

describe('history WriteBuffer with a flush whose reply was lost', () => {
  const h = Math.floor(Date.now() / HOUR) * HOUR;
  const arrivalsOf = (writes: { key: string; incr: Record<string, number> }[], key: string) =>
    writes.find((w) => w.key === key)?.incr['arrivals'];

  it('takes off what the flush wrote, keeps what came since and what it failed to write', () => {
    const buf = new WriteBuffer(1000, res, 'p:', 100);
    for (const at of [h + 1000, h + 1000, h + 2000]) buf.pushArrival('m', at);
    const lost = buf.take(h + 3000);
    buf.retryUnknown(lost);
    assert.throws(() => buf.take(h + 3000), /settle/, 'nothing is taken before the lost flush is settled');
    buf.pushArrival('m', h + 1000); // one more in the first second
    buf.aggregate();
    // It ran, but its increment of the second second's arrivals failed.
    const failed = lost
      .filter((w) => w.key === `p:m:1000:${h + 2000}`)
      .map((w) => ({ ...w, incr: { arrivals: 1 } }));
    buf.settle(failed);
    const next = buf.take(h + 3000);
    assert.equal(arrivalsOf(next, `p:m:1000:${h + 1000}`), 1, 'only the arrival that came since');
    assert.equal(arrivalsOf(next, `p:m:1000:${h + 2000}`), 1, 'the failed increment is still owed');
    const page = next.find((w) => w.kind === 'page')!;
    assert.deepEqual(page.incr, { 1: 1 }, "the page's slots it wrote are taken off");
  });

  it('keeps everything when the flush did not run', () => {
    const buf = new WriteBuffer(1000, res, 'p:', 100);
    for (const at of [h + 1000, h + 2000]) buf.pushArrival('m', at);
    const lost = buf.take(h + 3000);
    buf.retryUnknown(lost);
    buf.settle(null);
    const next = buf.take(h + 3000);
    assert.equal(arrivalsOf(next, `p:m:1000:${h + 1000}`), 1);
    assert.equal(arrivalsOf(next, `p:m:1000:${h + 2000}`), 1);
  });

  it('takes nothing off a key dropped meanwhile and made again by newer counts', () => {
    const buf = new WriteBuffer(1000, res, 'p:', 2); // one hash and the page
    buf.pushArrival('m', h + 1000);
    const lost = buf.take(h + 3000);
    buf.retryUnknown(lost);
    buf.pushArrival('m', h + 2000); // drops the first second's hash
    buf.aggregate();
    buf.pushArrival('m', h + 1000); // drops the second's, makes the first again: newer counts only
    buf.aggregate();
    buf.settle([]);
    const next = buf.take(h + 3000);
    assert.equal(arrivalsOf(next, `p:m:1000:${h + 1000}`), 1, 'the newer arrival is kept');
  });
});
