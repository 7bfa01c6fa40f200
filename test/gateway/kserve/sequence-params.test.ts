import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../gateway/errors/index.ts';
import { sequenceParams } from '../../../gateway/kserve/sequence-params.ts';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return `${e.code} ${e.param}`;
  }
  return 'accepted';
};

describe("sequenceParams (Triton's sequence_id, sequence_start, sequence_end)", () => {
  it('reads a string or integer id and the flags', () => {
    assert.equal(sequenceParams(undefined, 'parameters.'), null);
    assert.equal(sequenceParams({ other: 1 }, 'parameters.'), null);
    assert.deepEqual(sequenceParams({ sequence_id: 'conv', sequence_start: true }, ''), {
      id: 'conv',
      start: true,
      end: false,
    });
    assert.deepEqual(sequenceParams({ sequence_id: 42, sequence_end: true }, ''), {
      id: '42',
      start: false,
      end: true,
    });
  });

  it('refuses a bad id or flag, naming the field', () => {
    assert.equal(
      refusal(() => sequenceParams({ sequence_id: 0 }, 'parameters.')),
      'invalid_request parameters.sequence_id',
    );
    assert.equal(
      refusal(() => sequenceParams({ sequence_id: 1.5 }, '')),
      'invalid_request sequence_id',
    );
    assert.equal(
      refusal(() => sequenceParams({ sequence_id: '' }, '')),
      'invalid_request sequence_id',
    );
    assert.equal(
      refusal(() => sequenceParams({ sequence_id: 'x'.repeat(257) }, '')),
      'invalid_request sequence_id',
    );
    assert.equal(
      refusal(() => sequenceParams({ sequence_id: 'a', sequence_end: 1 }, '')),
      'invalid_request sequence_end',
    );
    assert.equal(
      refusal(() => sequenceParams({ sequence_start: true }, '')),
      'invalid_request sequence_id',
    );
  });
});
