import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateBodyJson } from '../../../gateway/upstream/instance-client.ts';

const params = Object.freeze({ temperature: 0.5, topK: 0, topP: 1, seed: 3, maxTokens: 4, stop: ['\n'] });

test('the body JSON is JSON.stringify of the body, whatever the prompt holds', () => {
  for (const prompt of ['hello', '', 'quote " backslash \\ newline \n é \u2028 😀']) {
    assert.equal(generateBodyJson({ prompt, params }), JSON.stringify({ prompt, params }));
    // Twice: the second takes the params' remembered JSON.
    assert.equal(generateBodyJson({ prompt, params }), JSON.stringify({ prompt, params }));
  }
  const mutable = { temperature: 1 };
  assert.equal(
    generateBodyJson({ prompt: 'a', params: mutable }),
    '{"prompt":"a","params":{"temperature":1}}',
  );
  mutable.temperature = 2; // not frozen: never remembered
  assert.equal(
    generateBodyJson({ prompt: 'a', params: mutable }),
    '{"prompt":"a","params":{"temperature":2}}',
  );
  const withPriority = { prompt: 'a', params, priority: 1 };
  assert.equal(generateBodyJson(withPriority), JSON.stringify(withPriority));
});
