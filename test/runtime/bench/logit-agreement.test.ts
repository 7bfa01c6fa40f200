import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOGIT_AGREEMENT_BOUND, logitDisagreement } from '../../../runtime/bench/paged-vs-contiguous.ts';

test('paged and contiguous logits agree up to the bound, and not beyond it', () => {
  assert.equal(LOGIT_AGREEMENT_BOUND, 1e-5); // the figure BENCHMARKS.md states
  assert.equal(logitDisagreement(0, 1e-5), null);
  assert.equal(logitDisagreement(1e-5, 1e-5), null);
  assert.match(logitDisagreement(2e-5, 1e-5)!, /differ by 0\.00002 .*above the bound 0\.00001/);
});

test('a NaN logit difference is a disagreement', () => {
  assert.match(logitDisagreement(Number.NaN, 1e-5)!, /differ by NaN/);
});
