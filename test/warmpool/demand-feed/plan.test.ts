import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backfillFrom, planCatchUp, settledAt } from '../../../warmpool/demand-feed/plan.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('planCatchUp', () => {
  it('reads only seconds while the gap is within the fine history', () => {
    assert.deepEqual(planCatchUp(10 * H + 5 * S, 10 * H + 9 * S, H), [
      { bucketMs: S, from: 10 * H + 5 * S, to: 10 * H + 9 * S },
    ]);
    assert.deepEqual(planCatchUp(10 * H, 10 * H, H), []);
  });

  it('backfills whole minutes up to the minute before the fine window, seconds after', () => {
    const to = 100 * H + 30 * S;
    const from = backfillFrom(to, 14 * 24 * H);
    assert.equal(from, 100 * H - 14 * 24 * H);
    assert.deepEqual(planCatchUp(from, to, H), [
      { bucketMs: M, from, to: 99 * H },
      { bucketMs: S, from: 99 * H, to },
    ]);
  });

  it('after a long gap reads the rest of the started minute in seconds, then minutes, then seconds', () => {
    const from = 10 * H + 20 * S;
    const to = 13 * H + 5 * M;
    assert.deepEqual(planCatchUp(from, to, H), [
      { bucketMs: S, from, to: 10 * H + M },
      { bucketMs: M, from: 10 * H + M, to: 12 * H + 5 * M },
      { bucketMs: S, from: 12 * H + 5 * M, to },
    ]);
  });

  it('reads through the last settled second', () => {
    assert.equal(settledAt(10 * H + 2500, 1000), 10 * H + 1000);
    assert.equal(settledAt(10 * H + 2000, 1000), 10 * H + 1000);
  });
});
