// A templated function fills its prompt with the body's values, as JSON when they are not strings. A
// value nested deeper than JSON.stringify can walk (valid JSON well under the body limit) once answered
// 500; it is the caller's to fix, so 400 naming the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../gateway/errors/index.ts';
import { generativeCall } from '../../../gateway/functions/function-body.ts';

describe('prompt templates', () => {
  it('a value nested too deeply is 400 invalid_request naming it', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    assert.throws(
      () => generativeCall({ text: deep }, 'Say: {{text}}'),
      (e) => e instanceof ApiError && e.code === 'invalid_request' && e.param === 'text',
    );
  });

  it('other values fill the template as JSON', () => {
    assert.equal(generativeCall({ text: [1, { a: 'b' }] }, 'Say: {{text}}').prompt, 'Say: [1,{"a":"b"}]');
  });
});
