import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBuffer } from '../../../gateway/request-history/write-buffer.ts';

const HOUR = 3_600_000;
const res = [{ bucketMs: 1000, retentionMs: HOUR }];
const rec = (at: number) => ({
  model: 'm',
  at,
  promptTokens: 1,
  outputTokens: 1,
  ttftMs: 1,
  outcome: 'ok' as const,
});

describe('history WriteBuffer past maxUnsentKeys', () => {
  it("drops second hashes before the last hour's arrivals page, though that page expires first", () => {
    // Three arrivals at the end of one hour and three at the start of the next: two pages and six
    // hashes. The first page expires at the end of the next hour, before the next hour's seconds do.
    const h = Math.floor(Date.now() / HOUR) * HOUR + HOUR;
    const buf = new WriteBuffer(1000, res, 'p:', 4);
    for (const at of [h - 3000, h - 2000, h - 1000, h, h + 1000, h + 2000]) buf.push(rec(at));
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
