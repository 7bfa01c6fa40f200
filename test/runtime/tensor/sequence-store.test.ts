import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequenceStore } from '../../../runtime/tensor/sequence/sequence-store.ts';

const state = (v: number) => new Map([['h', Float32Array.of(v)]]);

describe('SequenceStore (pure, explicit time)', () => {
  it('keeps a state between requests and forgets it on end', () => {
    const s = new SequenceStore(1000, 4);
    assert.equal(s.start('a', state(0), 0), true);
    assert.deepEqual([...s.resume('a', 10)!.get('h')!], [0]);
    s.save('a', state(7));
    assert.deepEqual([...s.resume('a', 20)!.get('h')!], [7]);
    s.end('a');
    assert.equal(s.resume('a', 30), null);
    assert.equal(s.resume('never', 30), null);
  });

  it('expires a sequence idle past the timeout, on access and by sweep, least recently used first', () => {
    const s = new SequenceStore(100, 4);
    s.start('a', state(1), 0);
    s.start('b', state(2), 50);
    assert.ok(s.resume('a', 100), 'idle exactly the timeout: still open');
    assert.equal(s.sweep(151), 1, 'b (last used at 50) expired; a (touched at 100) not');
    assert.equal(s.resume('b', 151), null);
    assert.equal(s.resume('a', 201), null, 'a idle 101 ms: expired on access');
    assert.equal(s.size, 0);
  });

  it('refuses a start when every slot is held by a live sequence, and frees expired ones for it', () => {
    const s = new SequenceStore(100, 2);
    s.start('a', state(1), 0);
    s.start('b', state(2), 10);
    assert.equal(s.start('c', state(3), 50), false);
    assert.equal(s.start('a', state(9), 60), true, 'restarting an open sequence takes its own slot');
    assert.deepEqual([...s.resume('a', 60)!.get('h')!], [9]);
    assert.equal(s.start('c', state(3), 111), true, 'b expired at 110');
    assert.equal(s.resume('b', 111), null);
  });

  it('ignores a save for a sequence closed meanwhile', () => {
    const s = new SequenceStore(100, 2);
    s.start('a', state(1), 0);
    s.end('a');
    s.save('a', state(5));
    assert.equal(s.resume('a', 1), null);
  });
});
