import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InstanceArgsError, parseInstanceArgs } from '../../../runtime/instance/config.ts';

const tensor = ['--kind', 'tensor', '--model', 'runtime/models/recurrent'];

describe('the instance flags of a stateful tensor model', () => {
  it('read state pairs and limits, with defaults', () => {
    assert.equal(parseInstanceArgs(tensor).sequence, undefined);
    assert.deepEqual(parseInstanceArgs([...tensor, '--sequence-state', 'state_in:state_out']).sequence, {
      state: [{ input: 'state_in', output: 'state_out' }],
      idleTimeoutMs: 60_000,
      maxSequences: 1024,
    });
    const c = parseInstanceArgs([
      ...tensor,
      '--sequence-state',
      'h:h_out, c:c_out',
      '--sequence-idle-ms',
      '500',
      '--max-sequences',
      '3',
    ]);
    assert.deepEqual(c.sequence, {
      state: [
        { input: 'h', output: 'h_out' },
        { input: 'c', output: 'c_out' },
      ],
      idleTimeoutMs: 500,
      maxSequences: 3,
    });
  });

  it('refuse a malformed pair, and limits without state', () => {
    assert.throws(() => parseInstanceArgs([...tensor, '--sequence-state', 'state_in']), InstanceArgsError);
    assert.throws(() => parseInstanceArgs([...tensor, '--sequence-state', 'a:b:c']), InstanceArgsError);
    assert.throws(() => parseInstanceArgs([...tensor, '--max-sequences', '3']), /need --sequence-state/);
    assert.throws(
      () => parseInstanceArgs([...tensor, '--sequence-state', 'a:b', '--sequence-idle-ms', '0']),
      /--sequence-idle-ms/,
    );
  });
});
