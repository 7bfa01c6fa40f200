import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequencePins } from '../../../gateway/routing/index.ts';

describe('SequencePins (pure, explicit time)', () => {
  it('sends a sequence to the instance it started on, per deployment, until it ends', () => {
    const pins = new SequencePins();
    pins.pin('rnn', '7', 'rnn-1', 1000, 0);
    pins.pin('other', '7', 'other-2', 1000, 0);
    assert.deepEqual(pins.where('rnn', '7', 10), { kind: 'pinned', instanceId: 'rnn-1' });
    assert.deepEqual(pins.where('other', '7', 10), { kind: 'pinned', instanceId: 'other-2' });
    pins.pin('rnn', '7', 'rnn-3', 1000, 20);
    assert.deepEqual(
      pins.where('rnn', '7', 30),
      { kind: 'pinned', instanceId: 'rnn-3' },
      'a restart re-pins',
    );
    pins.unpin('rnn', '7');
    assert.deepEqual(pins.where('rnn', '7', 40), { kind: 'unknown' });
  });

  it('forgets a pin idle past its instance timeout, each use restarting the wait', () => {
    const pins = new SequencePins();
    pins.pin('rnn', 'a', 'rnn-1', 100, 0);
    assert.equal(pins.where('rnn', 'a', 100).kind, 'pinned');
    assert.equal(pins.where('rnn', 'a', 200).kind, 'pinned');
    assert.equal(pins.where('rnn', 'a', 301).kind, 'unknown');
    assert.equal(pins.size, 0);
  });

  it('drops the least recently used pin when full', () => {
    const pins = new SequencePins(2);
    pins.pin('m', 'a', 'i', 1000, 0);
    pins.pin('m', 'b', 'i', 1000, 1);
    pins.where('m', 'a', 2);
    pins.pin('m', 'c', 'i', 1000, 3);
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => pins.where('m', id, 4).kind),
      ['pinned', 'unknown', 'pinned'],
    );
  });
});
