import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { HfTokenizer, TokenizerLoadError } from '../../../runtime/engine/text/index.ts';
import {
  FIXTURE_NAMES,
  REAL_VOCABULARIES,
  fixtureDir,
  fixtureGolden,
  readJson,
  realGolden,
} from './hf-goldens.ts';

// make_hf_fixtures.py: eos from generation_config.json (llama3: end_of_text and eot_id; qwen2: im_end and
// endoftext) with tokenizer_config.json's eos_token; bos from tokenizer_config.json (qwen2 has none).
const SPECIAL_IDS = {
  llama: { eos: [2], bos: 1 },
  llama3: { eos: [1, 4], bos: 0 },
  mistral: { eos: [2], bos: 1 },
  qwen2: { eos: [2, 0], bos: null },
  gpt2: { eos: [0], bos: 0 },
} as const;

for (const name of FIXTURE_NAMES) {
  describe(`HfTokenizer on the ${name} fixture, against transformers`, async () => {
    const tokenizer = await HfTokenizer.fromFolder(fixtureDir(name));
    const golden = fixtureGolden(name);

    test('vocabulary size, eos and bos ids', () => {
      assert.equal(tokenizer.vocabSize, golden.vocab_size);
      assert.deepEqual(tokenizer.eosTokenIds, SPECIAL_IDS[name].eos);
      assert.equal(tokenizer.bosTokenId, SPECIAL_IDS[name].bos);
    });

    test('multilingual texts encode to the golden ids and decode to the golden text', () => {
      for (const e of golden.encode) {
        assert.deepEqual(tokenizer.encode(e.text, { addSpecialTokens: false }), e.ids, e.text);
        assert.equal(tokenizer.decode(e.ids), e.decoded);
      }
    });

    test('prompts encode with their special tokens as the model was fed', () => {
      for (const p of golden.prompts) assert.deepEqual(tokenizer.encode(p.text), p.ids, p.text);
    });

    test('rendered chats encode to the golden ids', () => {
      for (const c of golden.chat) {
        if (c.rendered === undefined) continue;
        assert.deepEqual(tokenizer.encode(c.rendered, { addSpecialTokens: false }), c.ids);
      }
    });
  });
}

for (const { name, dir } of REAL_VOCABULARIES) {
  describe(`HfTokenizer on the real ${name} vocabulary, against tokenizers`, async () => {
    const tokenizer = await HfTokenizer.fromFolder(dir);
    const golden = realGolden(name);

    test('ids with and without special tokens equal the golden ids', () => {
      for (const e of golden.encode) {
        assert.deepEqual(tokenizer.encode(e.text, { addSpecialTokens: false }), e.ids, e.text);
        assert.deepEqual(tokenizer.encode(e.text), e.ids_with_special, e.text);
      }
    });

    test('decode gives the golden text, and decode(encode(x)) = x', () => {
      for (const e of golden.encode) {
        assert.equal(tokenizer.decode(e.ids), e.decoded);
        assert.equal(tokenizer.decode(tokenizer.encode(e.text), { skipSpecialTokens: true }), e.text);
      }
    });
  });
}

describe('HfTokenizer special tokens', async () => {
  const llama3 = await HfTokenizer.fromFolder(REAL_VOCABULARIES[0].dir);
  const llama2 = await HfTokenizer.fromFolder(REAL_VOCABULARIES[1].dir);

  test('ids of the real vocabularies (Meta: begin_of_text 128000, end_of_text 128001; <s> 1, </s> 2)', () => {
    assert.equal(llama3.vocabSize, 128256);
    assert.equal(llama3.bosTokenId, 128000);
    assert.deepEqual(llama3.eosTokenIds, [128001]);
    assert.equal(llama3.tokenId('<|eot_id|>'), 128009);
    assert.equal(llama2.vocabSize, 32000);
    assert.equal(llama2.bosTokenId, 1);
    assert.deepEqual(llama2.eosTokenIds, [2]);
  });

  test('skipSpecialTokens leaves out BOS, EOS and other special tokens, and only with the option', () => {
    const ids = [128000, ...llama3.encode('Hi there', { addSpecialTokens: false }), 128009];
    assert.equal(llama3.decode(ids), '<|begin_of_text|>Hi there<|eot_id|>');
    assert.equal(llama3.decode(ids, { skipSpecialTokens: true }), 'Hi there');
  });

  test('byte-fallback tokens a file marks special are still text when specials are skipped', async () => {
    // The llama fixture lists <0xNN> among its special added tokens; they spell the CJK text.
    const tokenizer = await HfTokenizer.fromFolder(fixtureDir('llama'));
    const cjk = fixtureGolden('llama').encode[3]!;
    assert.equal(tokenizer.decode([1, ...cjk.ids, 2], { skipSpecialTokens: true }), cjk.decoded);
  });

  test('add_bos_token in tokenizer_config.json replaces the post-processor, as transformers does', () => {
    const dir = REAL_VOCABULARIES[1].dir;
    const tokenizerJson = readJson(join(dir, 'tokenizer.json'));
    const config = readJson(join(dir, 'tokenizer_config.json')) as Record<string, unknown>;
    const withoutBos = HfTokenizer.fromJson({
      tokenizer: tokenizerJson,
      tokenizerConfig: { ...config, add_bos_token: false },
    });
    const plain = llama2.encode('To be', { addSpecialTokens: false });
    assert.deepEqual(withoutBos.encode('To be'), plain);
    const withEos = HfTokenizer.fromJson({
      tokenizer: tokenizerJson,
      tokenizerConfig: { ...config, add_eos_token: true },
    });
    assert.deepEqual(withEos.encode('To be'), [1, ...plain, 2]);
  });

  test("tokenizer_config.json's added tokens that tokenizer.json lacks are added", () => {
    const tokenizer = HfTokenizer.fromJson({
      tokenizer: readJson(join(fixtureDir('gpt2'), 'tokenizer.json')),
      tokenizerConfig: { added_tokens_decoder: { '512': { content: '<|tool|>', special: true } } },
    });
    assert.equal(tokenizer.vocabSize, 513);
    const ids = tokenizer.encode('a<|tool|>b');
    assert.ok(ids.includes(512));
    assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), 'ab');
  });

  test('empty input, and ids without a token (padded logit rows) give no text', () => {
    assert.deepEqual(llama3.encode('', { addSpecialTokens: false }), []);
    assert.equal(llama3.decode([]), '');
    assert.equal(llama2.decode([18637, 32000, 40000]), llama2.decode([18637]));
    assert.throws(() => llama2.decode([-1]), RangeError);
    assert.throws(() => llama2.decode([1.5]), RangeError);
  });
});

describe('HfTokenizer refuses files that are not a tokenizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warmgate-tokenizer-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const gpt2 = readJson(join(fixtureDir('gpt2'), 'tokenizer.json')) as Record<string, unknown>;

  async function loadError(files: Record<string, string>): Promise<TokenizerLoadError> {
    const folder = mkdtempSync(join(dir, 'model-'));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(folder, file), text);
    try {
      await HfTokenizer.fromFolder(folder);
    } catch (e) {
      assert.ok(e instanceof TokenizerLoadError, String(e));
      return e;
    }
    assert.fail('the folder loaded');
  }

  function jsonError(sources: Parameters<typeof HfTokenizer.fromJson>[0]): TokenizerLoadError {
    try {
      HfTokenizer.fromJson(sources);
    } catch (e) {
      assert.ok(e instanceof TokenizerLoadError, String(e));
      return e;
    }
    assert.fail('the files loaded');
  }

  test('a folder without tokenizer.json: tokenizer_missing, naming the folder', async () => {
    const e = await loadError({ 'config.json': '{}' });
    assert.equal(e.code, 'tokenizer_missing');
    assert.match(e.message, /has no tokenizer\.json/);
    await assert.rejects(HfTokenizer.fromFolder(join(dir, 'nowhere')), { code: 'tokenizer_missing' });
  });

  test('tokenizer.json that is not JSON, or truncated: tokenizer_invalid, naming the file', async () => {
    const e = await loadError({ 'tokenizer.json': JSON.stringify(gpt2).slice(0, 500) });
    assert.equal(e.code, 'tokenizer_invalid');
    assert.match(e.message, /tokenizer\.json is not valid JSON/);
  });

  test('JSON that is not a tokenizer: tokenizer_invalid', async () => {
    assert.equal((await loadError({ 'tokenizer.json': '[1, 2]' })).code, 'tokenizer_invalid');
    assert.match(jsonError({ tokenizer: {} }).message, /no "model"/);
    const unknownModel = jsonError({ tokenizer: { ...gpt2, model: { type: 'Mystery' } } });
    assert.equal(unknownModel.code, 'tokenizer_invalid');
    assert.match(unknownModel.message, /could not be loaded/);
  });

  test('tokenizer_config.json or generation_config.json that contradicts the vocabulary: tokenizer_invalid', async () => {
    const badConfig = await loadError({
      'tokenizer.json': JSON.stringify(gpt2),
      'tokenizer_config.json': '{"eos_token": 7',
    });
    assert.match(badConfig.message, /tokenizer_config\.json is not valid JSON/);
    assert.match(
      jsonError({ tokenizer: gpt2, tokenizerConfig: { eos_token: '</nowhere>' } }).message,
      /eos_token "<\/nowhere>"/,
    );
    assert.match(
      jsonError({ tokenizer: gpt2, tokenizerConfig: { eos_token: 7 } }).message,
      /eos_token must be a string/,
    );
    assert.match(
      jsonError({ tokenizer: gpt2, generationConfig: { eos_token_id: 9999 } }).message,
      /outside the vocabulary/,
    );
    assert.match(
      jsonError({ tokenizer: gpt2, generationConfig: { eos_token_id: 'x' } }).message,
      /eos_token_id/,
    );
  });
});
