import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirstTokenWindow } from '../../../gateway/admission/index.ts';

describe('FirstTokenWindow', () => {
  it('summarises the samples of the window: count and nearest-rank p90', () => {
    const w = new FirstTokenWindow();
    assert.equal(w.summary(1000, 10_000), undefined);
    for (let k = 1; k <= 20; k++) w.note(k * 10, 1000 + k); // 10 .. 200 ms
    assert.deepEqual(w.summary(2000, 10_000), { count: 20, p90Ms: 180 });
    w.note(5000, 20_000);
    assert.deepEqual(w.summary(20_000, 10_000), { count: 1, p90Ms: 5000 }, 'older samples left the window');
  });

  it('keeps a fixed number of samples, the newest', () => {
    const w = new FirstTokenWindow();
    for (let k = 0; k < 5000; k++) w.note(k, 1000);
    const s = w.summary(1000, 10_000)!;
    assert.equal(s.count, 1024);
    assert.equal(s.p90Ms, 5000 - 1024 + Math.ceil(0.9 * 1024) - 1);
  });
});
