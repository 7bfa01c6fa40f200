import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../runtime/engine/sampling/rng.ts';

function draws(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.next());
}

describe('Rng', () => {
  test('fromSeed gives fixed values, so seeded requests replay across runs and machines', () => {
    const rng = Rng.fromSeed(42);
    assert.deepEqual(
      Array.from({ length: 4 }, () => rng.nextUint32()),
      [2792503092, 3922331370, 89078988, 3871786781],
    );
    const stream1 = Rng.fromSeed(42, 1);
    assert.deepEqual(
      Array.from({ length: 4 }, () => stream1.nextUint32()),
      [767956149, 1349813428, 1886428482, 3466730735],
    );
  });

  test('next() is the 32-bit draw scaled into [0, 1)', () => {
    const a = Rng.fromSeed(42);
    assert.equal(a.next(), 2792503092 / 2 ** 32);
  });

  test('the same seed and stream give the same sequence', () => {
    assert.deepEqual(draws(Rng.fromSeed(7, 3), 100), draws(Rng.fromSeed(7, 3), 100));
  });

  test('different streams of one seed differ, and so do neighbouring seeds', () => {
    const base = draws(Rng.fromSeed(7, 0), 20);
    assert.notDeepEqual(draws(Rng.fromSeed(7, 1), 20), base);
    assert.notDeepEqual(draws(Rng.fromSeed(8, 0), 20), base);
    // Seed and stream are not interchangeable.
    assert.notDeepEqual(draws(Rng.fromSeed(0, 7), 20), draws(Rng.fromSeed(7, 0), 20));
  });

  test('large and negative seeds are accepted and distinct', () => {
    const big = draws(Rng.fromSeed(Number.MAX_SAFE_INTEGER), 5);
    const neg = draws(Rng.fromSeed(-1), 5);
    const zero = draws(Rng.fromSeed(0), 5);
    assert.notDeepEqual(big, neg);
    assert.notDeepEqual(neg, zero);
    assert.notDeepEqual(draws(Rng.fromSeed(2 ** 32), 5), zero);
  });

  test('rejects seeds and streams that are not safe integers', () => {
    assert.throws(() => Rng.fromSeed(1.5), RangeError);
    assert.throws(() => Rng.fromSeed(2 ** 60), RangeError);
    assert.throws(() => Rng.fromSeed(1, -1), RangeError);
  });

  test('draws lie in [0, 1) and are roughly uniform', () => {
    const rng = Rng.fromSeed(123);
    const buckets = new Array<number>(10).fill(0);
    const count = 100_000;
    for (let i = 0; i < count; i++) {
      const x = rng.next();
      assert.ok(x >= 0 && x < 1, `draw ${x} out of range`);
      buckets[Math.floor(x * 10)]!++;
    }
    // Chi-square with 9 degrees of freedom; 27.9 is the 0.001 critical value.
    const expected = count / 10;
    const chi2 = buckets.reduce((sum, b) => sum + (b - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 27.9, `chi-square ${chi2}`);
  });

  test('random() instances are unseeded and differ from each other', () => {
    assert.notDeepEqual(draws(Rng.random(), 4), draws(Rng.random(), 4));
  });
});
