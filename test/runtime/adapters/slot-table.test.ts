// The adapter slot table: slot 0 is never handed out, a referenced slot is never evicted, the least
// recently released unreferenced slot is evicted first, and a full table is a null, not an error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlotTable } from '../../../runtime/adapters/index.ts';

describe('SlotTable', () => {
  it('hands out 1..S-1, reuses a loaded adapter without loading, evicts the least recently used idle one', () => {
    const t = new SlotTable(3);
    assert.deepEqual(t.acquire('a'), { slot: 1, load: true });
    assert.deepEqual(t.acquire('b'), { slot: 2, load: true });
    assert.equal(t.acquire('c'), null, 'both slots referenced: c waits');
    assert.deepEqual(t.acquire('a'), { slot: 1, load: false });
    assert.equal(t.refs('a'), 2);
    t.release('b');
    // b is idle, a referenced: c takes b's slot.
    assert.deepEqual(t.acquire('c'), { slot: 2, load: true, evicted: 'b' });
    t.release('a');
    assert.equal(t.acquire('b'), null, 'a is still referenced once, c too');
    t.release('a');
    t.release('c');
    // a went idle before c: a is evicted first.
    assert.deepEqual(t.acquire('b'), { slot: 1, load: true, evicted: 'a' });
    assert.deepEqual(t.loaded().sort(), ['b', 'c']);
  });

  it('reusing an idle adapter takes it off the eviction list', () => {
    const t = new SlotTable(3);
    t.acquire('a');
    t.acquire('b');
    t.release('a');
    t.release('b');
    t.acquire('a'); // a in use again: b is the only idle slot
    assert.deepEqual(t.acquire('c'), { slot: 2, load: true, evicted: 'b' });
  });

  it('drop frees an idle slot and refuses a referenced one; releasing twice throws', () => {
    const t = new SlotTable(2);
    t.acquire('a');
    assert.equal(t.drop('a'), false);
    t.release('a');
    assert.throws(() => t.release('a'), /holds no reference/);
    assert.equal(t.drop('a'), true);
    assert.equal(t.slotOf('a'), undefined);
    assert.deepEqual(t.acquire('b'), { slot: 1, load: true });
  });
});
