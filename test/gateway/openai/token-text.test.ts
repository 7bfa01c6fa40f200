// How tokens read in the gateway's logprobs: an imported model's as its instance named them (the naming
// itself is tested where it is made, test/runtime/instance/token-texts.test.ts, and end to end in
// test/gateway/model-text/hf-models.test.ts), a byte-level model's as bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOKEN_TEXTS } from '../../../gateway/openai/token-text.ts';

describe('token texts for logprobs', () => {
  it('a token the instance named reads as named; its bytes are that text in UTF-8', () => {
    assert.equal(TOKEN_TEXTS.text({ token: 367, tokenText: ' be' }), ' be');
    assert.deepEqual(TOKEN_TEXTS.bytes({ token: 367, tokenText: ' be' }), [0x20, 0x62, 0x65]);
    // An id under 256 is not read as a byte once named.
    assert.equal(TOKEN_TEXTS.text({ token: 65, tokenText: 'é' }), 'é');
    assert.deepEqual(TOKEN_TEXTS.bytes({ token: 65, tokenText: 'é' }), [0xc3, 0xa9]);
    assert.equal(TOKEN_TEXTS.text({ token: 7, tokenText: '' }), '');
  });

  it('byte models: ASCII reads as itself, other bytes in the bytes:\\xNN form', () => {
    assert.equal(TOKEN_TEXTS.text({ token: 65 }), 'A');
    assert.equal(TOKEN_TEXTS.text({ token: 0xc3 }), 'bytes:\\xc3');
    assert.deepEqual(TOKEN_TEXTS.bytes({ token: 0xc3 }), [0xc3]);
    assert.equal(TOKEN_TEXTS.text({ token: 256 }), '');
    assert.deepEqual(TOKEN_TEXTS.bytes({ token: 256 }), []);
  });
});
