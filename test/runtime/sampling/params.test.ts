import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_SAMPLING_PARAMS,
  type SamplingLimits,
  validateSamplingParams,
} from '../../../runtime/engine/sampling/params.ts';

const limits: SamplingLimits = { vocabSize: 257, maxN: 4, maxStop: 4, maxStopLength: 32, maxTokens: 1024 };

function failure(input: unknown, lim: SamplingLimits = limits): { field: string; message: string } {
  const result = validateSamplingParams(input, lim);
  assert.equal(result.ok, false, `expected ${JSON.stringify(input)} to be rejected`);
  if (result.ok) throw new Error('unreachable');
  return { field: result.field, message: result.message };
}

describe('validateSamplingParams', () => {
  test('an empty object gets the defaults, frozen', () => {
    const result = validateSamplingParams({}, limits);
    assert.ok(result.ok);
    assert.deepEqual(result.params, { ...DEFAULT_SAMPLING_PARAMS });
    assert.equal(result.params.seed, undefined);
    assert.ok(Object.isFrozen(result.params));
    assert.ok(Object.isFrozen(result.params.stop));
  });

  test('keeps given values and copies the stop list', () => {
    const stop = ['\n\n'];
    const result = validateSamplingParams(
      {
        temperature: 0,
        topK: 40,
        topP: 0.9,
        seed: -5,
        maxTokens: 8,
        stop,
        n: 2,
        logprobs: 20,
        ignoreEos: true,
      },
      limits,
    );
    assert.ok(result.ok);
    assert.deepEqual(result.params, {
      temperature: 0,
      topK: 40,
      topP: 0.9,
      seed: -5,
      maxTokens: 8,
      stop: ['\n\n'],
      n: 2,
      logprobs: 20,
      ignoreEos: true,
    });
    stop.push('x');
    assert.deepEqual(result.params.stop, ['\n\n']);
  });

  test('null means "use the default"', () => {
    const result = validateSamplingParams({ seed: null, temperature: null, stop: null }, limits);
    assert.ok(result.ok);
    assert.equal(result.params.seed, undefined);
    assert.equal(result.params.temperature, 1);
    assert.deepEqual(result.params.stop, []);
  });

  test('the default maxTokens never exceeds the deployment limit', () => {
    const result = validateSamplingParams({}, { ...limits, maxTokens: 100 });
    assert.ok(result.ok);
    assert.equal(result.params.maxTokens, 100);
  });

  test('errors name the field, the allowed range and the value', () => {
    assert.deepEqual(failure({ temperature: 3 }), {
      field: 'temperature',
      message: 'temperature must be between 0 and 2 (0 means greedy), got 3',
    });
    assert.deepEqual(failure({ temperature: 'hot' }), {
      field: 'temperature',
      message: 'temperature must be a number between 0 and 2 (0 means greedy), got "hot"',
    });
    assert.deepEqual(failure({ topK: 300 }), {
      field: 'topK',
      message: 'topK must be between 0 and 257 (0 turns it off), got 300',
    });
    assert.equal(failure({ topK: 1.5 }).field, 'topK');
    assert.match(failure({ topP: 0 }).message, /^topP must be a number greater than 0 and at most 1.*got 0$/);
    assert.equal(failure({ topP: 1.01 }).field, 'topP');
    assert.equal(failure({ seed: 0.5 }).field, 'seed');
    assert.equal(failure({ seed: '42' }).field, 'seed');
    assert.deepEqual(failure({ maxTokens: 0 }), {
      field: 'maxTokens',
      message: 'maxTokens must be between 1 and 1024, got 0',
    });
    assert.equal(failure({ maxTokens: 2000 }).field, 'maxTokens');
    assert.deepEqual(failure({ n: 5 }), { field: 'n', message: 'n must be between 1 and 4, got 5' });
    assert.deepEqual(failure({ logprobs: 21 }), {
      field: 'logprobs',
      message: 'logprobs must be between 0 and 20 (0 turns it off), got 21',
    });
    assert.equal(failure({ ignoreEos: 'yes' }).field, 'ignoreEos');
  });

  test('logprobs is also capped by a tiny vocabulary', () => {
    assert.equal(
      failure({ logprobs: 10 }, { ...limits, vocabSize: 8 }).message.includes('between 0 and 8'),
      true,
    );
  });

  test('stop must be a short list of non-empty strings', () => {
    assert.equal(failure({ stop: 'END' }).field, 'stop');
    assert.equal(
      failure({ stop: ['a', 'b', 'c', 'd', 'e'] }).message,
      'stop may hold at most 4 strings, got 5',
    );
    assert.equal(
      failure({ stop: ['ok', ''] }).message,
      'stop[1] must be a non-empty string of at most 32 characters, got ""',
    );
    assert.equal(failure({ stop: ['x'.repeat(33)] }).field, 'stop');
    assert.equal(failure({ stop: [7] }).field, 'stop');
  });

  test('unknown keys and non-objects are rejected', () => {
    const unknown = failure({ top_p: 0.5 });
    assert.equal(unknown.field, 'top_p');
    assert.match(unknown.message, /top_p is not a sampling parameter; allowed: .*topP/);
    assert.equal(failure(null).field, '');
    assert.equal(failure([1]).message, 'sampling params must be an object, got an array');
  });
});
