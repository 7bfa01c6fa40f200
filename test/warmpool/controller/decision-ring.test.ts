import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Ring } from '../../../warmpool/controller/decision-ring.ts';

describe('Ring', () => {
  it('keeps the most recent items, oldest first, evicting the oldest when full', () => {
    const ring = new Ring<number>(3);
    assert.deepEqual(ring.toArray(), []);
    ring.push(1);
    ring.push(2);
    assert.deepEqual(ring.toArray(), [1, 2]);
    ring.push(3);
    ring.push(4);
    ring.push(5);
    assert.deepEqual(ring.toArray(), [3, 4, 5]);
    assert.equal(ring.length, 3);
  });

  it('gives a copy that later pushes do not change', () => {
    const ring = new Ring<string>(2);
    ring.push('a');
    const seen = ring.toArray();
    ring.push('b');
    ring.push('c');
    assert.deepEqual(seen, ['a']);
    assert.deepEqual(ring.toArray(), ['b', 'c']);
  });

  it('keeps nothing with a capacity below 1', () => {
    for (const capacity of [0, -1, 0.5]) {
      const ring = new Ring<number>(capacity);
      ring.push(1);
      assert.deepEqual(ring.toArray(), [], `capacity ${capacity}`);
    }
  });

  it('agrees with the last `capacity` items of every push', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer(), { maxLength: 40 }),
        (capacity, items) => {
          const ring = new Ring<number>(capacity);
          items.forEach((item, i) => {
            ring.push(item);
            assert.deepEqual(ring.toArray(), items.slice(Math.max(0, i + 1 - capacity), i + 1));
          });
        },
      ),
    );
  });
});
