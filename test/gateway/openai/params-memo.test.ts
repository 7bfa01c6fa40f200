import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateSamplingParams } from '../../../runtime/engine/index.ts';
import { type NumericSampling, SamplingParamsMemo } from '../../../gateway/openai/params-memo.ts';

const limits = Object.freeze({ vocabSize: 257, maxN: 8, maxStop: 4, maxStopLength: 64, maxTokens: 100 });
const input = (o: Partial<NumericSampling> = {}): NumericSampling => ({
  temperature: 1,
  topP: 1,
  topK: 0,
  n: 1,
  logprobs: 0,
  maxTokens: 16,
  stop: [],
  ...o,
});

test('a repeated valid input gets the engine answer, the same frozen params each time', () => {
  const memo = new SamplingParamsMemo();
  const first = memo.validate(input({ seed: 7 }), limits);
  assert.deepEqual(first, validateSamplingParams(input({ seed: 7 }), limits));
  const again = memo.validate(input({ seed: 7 }), limits);
  assert.ok(first.ok && again.ok);
  assert.equal(again.params, first.params);
  assert.ok(Object.isFrozen(again.params));
  // Another seed, or none, is another entry.
  const other = memo.validate(input(), limits);
  assert.ok(other.ok);
  assert.equal(other.params.seed, undefined);
  assert.notEqual(other.params, first.params);
});

test('each limits object has its own answers', () => {
  const memo = new SamplingParamsMemo();
  const tight = Object.freeze({ ...limits, maxTokens: 8 });
  assert.equal(memo.validate(input(), limits).ok, true);
  const refused = memo.validate(input(), tight);
  assert.deepEqual(refused, validateSamplingParams(input(), tight));
  assert.equal(refused.ok, false);
});

test('refusals, stop strings and unfrozen limits are computed each time', () => {
  const memo = new SamplingParamsMemo();
  const bad = input({ temperature: 9 });
  assert.deepEqual(memo.validate(bad, limits), validateSamplingParams(bad, limits));
  assert.deepEqual(memo.validate(bad, limits), validateSamplingParams(bad, limits));
  const withStop = input({ stop: ['\n'] });
  const a = memo.validate(withStop, limits);
  const b = memo.validate(withStop, limits);
  assert.ok(a.ok && b.ok);
  assert.notEqual(a.params, b.params);
  assert.deepEqual(a.params, b.params);
  const mutable = { ...limits };
  const c = memo.validate(input(), mutable);
  const d = memo.validate(input(), mutable);
  assert.ok(c.ok && d.ok);
  assert.notEqual(c.params, d.params);
});
