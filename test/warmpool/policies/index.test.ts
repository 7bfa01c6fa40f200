import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POLICIES, policyNamed } from '../../../warmpool/policies/index.ts';

describe('policy registry', () => {
  it('names every policy and finds each by name', () => {
    assert.deepEqual(Object.keys(POLICIES).sort(), [
      'costaware',
      'histogram',
      'keepalive',
      'predictive',
      'reactive',
      'tuned',
    ]);
    for (const [name, p] of Object.entries(POLICIES)) {
      assert.equal(policyNamed(name), p);
      assert.equal(p.name, name);
      assert.ok(p.knob.values.length > 1, `${name} has a knob to sweep`);
    }
  });

  it('rejects an unknown name with the list of names', () => {
    assert.throws(() => policyNamed('oracle'), {
      name: 'RangeError',
      message:
        'unknown policy "oracle"; policies: reactive, keepalive, histogram, predictive, costaware, tuned',
    });
    assert.throws(() => policyNamed('toString'), RangeError);
  });
});
