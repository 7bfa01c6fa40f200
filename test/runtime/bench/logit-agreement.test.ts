import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LOGIT_AGREEMENT_BOUND,
  logitDisagreement,
  rowRelativeError,
} from '../../../runtime/bench/paged-vs-contiguous.ts';

test('paged and contiguous logits agree up to the bound, and not beyond it', () => {
  assert.equal(LOGIT_AGREEMENT_BOUND, 1e-4); // the engine's logits test's bound, as BENCHMARKS.md states
  assert.equal(logitDisagreement(0, 1e-4), null);
  assert.equal(logitDisagreement(1e-4, 1e-4), null);
  assert.match(
    logitDisagreement(2e-4, 1e-4)!,
    /differ by 0\.0002 of the row's largest logit, above the bound 0\.0001/,
  );
});

test('a NaN logit difference is a disagreement', () => {
  assert.match(logitDisagreement(Number.NaN, 1e-4)!, /differ by NaN/);
});

test('the relative error is per row, over the largest logit of that row', () => {
  const want = Float32Array.from([10, -20, 1, 0.5]); // two rows of two
  const got = Float32Array.from([10, -20.002, 1, 0.5001]);
  // Row 0: 0.002 / 20 = 1e-4; row 1: 0.0001 / 1 = 1e-4 (within float32 rounding).
  assert.ok(Math.abs(rowRelativeError(got, want, 2) - 1e-4) < 1e-6);
  assert.equal(rowRelativeError(want, want, 2), 0);
});
