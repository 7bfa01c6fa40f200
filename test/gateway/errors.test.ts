import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  ApiError,
  ERROR_CATALOG,
  ERROR_CODES,
  kserveErrorBody,
  openAIErrorBody,
} from '../../gateway/errors/index.ts';

describe('error catalog', () => {
  it('the README lists every code with its status', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of ERROR_CODES) {
      const row = new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${ERROR_CATALOG[code].status}\\s*\\|`);
      assert.match(
        readme,
        row,
        `README's error table has no row for ${code} (${ERROR_CATALOG[code].status})`,
      );
    }
  });

  it('every code is a 4xx or 5xx, and client mistakes are 4xx', () => {
    for (const code of ERROR_CODES) {
      const { status, type } = ERROR_CATALOG[code];
      assert.ok(status >= 400 && status < 600, code);
      assert.equal(status >= 500, type === 'server_error', `${code}: ${status} with type ${type}`);
    }
  });

  it('bodies carry the code, the status comes from the catalog, and the message says what to do', () => {
    const e = new ApiError('context_length_exceeded', undefined, { param: 'max_tokens' });
    assert.equal(e.status, 400);
    assert.deepEqual(openAIErrorBody(e), {
      error: {
        message: 'context length exceeded: shorten the prompt or lower max_tokens',
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: 'context_length_exceeded',
      },
    });
    const q = new ApiError('queue_full', 'the queue for model m is full', { retryAfter: 2 });
    assert.equal(q.status, 503);
    assert.equal(q.retryAfter, 2);
    assert.deepEqual(kserveErrorBody(q), { error: 'the queue for model m is full', code: 'queue_full' });
  });
});
