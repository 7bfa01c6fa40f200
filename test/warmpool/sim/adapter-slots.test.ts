import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdapterSlots } from '../../../warmpool/sim/engine/adapter-slots.ts';
import { mergeRequests } from '../../../warmpool/sim/adapters/merge-requests.ts';

describe('an instance’s adapter slots', () => {
  it('a resident adapter starts at once; a new one after exactly the load time; a load under way is shared', () => {
    const a = new AdapterSlots({ slots: 2, loadMs: 15 });
    assert.equal(a.admit(7, 1000), 1015);
    assert.equal(a.admit(7, 1005), 1015); // shares the load under way: waits its remaining 10 ms
    a.release(7);
    a.release(7);
    assert.equal(a.admit(7, 2000), 2000);
  });

  it('a full instance evicts the least recently released adapter that no request uses, never one in use', () => {
    const a = new AdapterSlots({ slots: 3, loadMs: 10 });
    a.admit(1, 0); // 1 stays in use throughout, though it is the oldest
    a.admit(2, 0);
    a.admit(3, 0);
    a.release(3); // released first: the least recently used of the unused
    a.release(2);
    assert.deepEqual(a.residents(), [1, 3, 2]);
    assert.equal(a.admit(4, 100), 110); // evicts 3
    assert.deepEqual(a.residents(), [1, 2, 4]);
    a.release(4);
    assert.equal(a.admit(2, 200), 200); // resident: no load, and in use again
    assert.equal(a.admit(5, 200), 210); // evicts 4, the only one unused
    assert.deepEqual(a.residents(), [1, 2, 5]);
    a.release(2);
    a.release(5);
    assert.equal(a.admit(6, 300), 310); // 2 was released before 5
    assert.deepEqual(a.residents(), [1, 5, 6]);
  });

  it('refuses to load when every slot is in use (the engine never asks: adapter slots ≥ request slots)', () => {
    const a = new AdapterSlots({ slots: 1, loadMs: 10 });
    a.admit(1, 0);
    assert.throws(() => a.admit(2, 0), /every adapter slot is in use/);
  });
});

describe('merging deployments’ requests', () => {
  it('gives one stream in arrival order, each request tagged with its part’s adapter', () => {
    const req = (at: number[], s: number) => ({
      at: Float64Array.from(at),
      serviceMs: Float64Array.from(at, () => s),
    });
    const m = mergeRequests([req([0, 30, 31], 1), req([], 2), req([5, 30.5], 3)], [4, 5, 6]);
    assert.deepEqual([...m.at], [0, 5, 30, 30.5, 31]);
    assert.deepEqual([...m.serviceMs], [1, 3, 1, 3, 1]);
    assert.deepEqual([...m.adapter!], [4, 6, 4, 6, 4]);
    assert.equal(mergeRequests([req([1], 1)]).adapter, undefined);
  });
});
