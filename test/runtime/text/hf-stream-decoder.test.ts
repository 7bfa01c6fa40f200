import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteTokenizer, HfTokenizer, type Tokenizer } from '../../../runtime/engine/text/index.ts';
import { WindowedStreamDecoder } from '../../../runtime/engine/text/windowed-stream-decoder.ts';
import { FIXTURE_NAMES, REAL_VOCABULARIES, fixtureDir, fixtureGolden, realGolden } from './hf-goldens.ts';

function streamed(tokenizer: Tokenizer, ids: readonly number[], options = {}): string[] {
  const decoder = tokenizer.streamDecoder(options);
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  return pieces;
}

/** Each token decoded alone: what a stream without a window would send. */
function naive(tokenizer: Tokenizer, ids: readonly number[]): string[] {
  return ids.map((id) => tokenizer.decode([id]));
}

function assertStreamsExactly(tokenizer: Tokenizer, ids: readonly number[], expected: string, label: string) {
  const pieces = streamed(tokenizer, ids);
  assert.equal(pieces.join(''), expected, label);
  if (!expected.includes('\uFFFD')) {
    assert.ok(!pieces.some((p) => p.includes('\uFFFD')), `${label}: a piece holds half a character`);
  }
}

for (const name of FIXTURE_NAMES) {
  test(`streaming the ${name} fixture's goldens gives decode(ids), never half a character`, async () => {
    const tokenizer = await HfTokenizer.fromFolder(fixtureDir(name));
    const golden = fixtureGolden(name);
    for (const e of golden.encode) assertStreamsExactly(tokenizer, e.ids, e.decoded, e.text);
    for (const p of golden.prompts) assertStreamsExactly(tokenizer, p.ids, tokenizer.decode(p.ids), p.text);
    for (const c of golden.chat) {
      if (c.ids !== undefined) assertStreamsExactly(tokenizer, c.ids, tokenizer.decode(c.ids), 'chat');
    }
  });
}

for (const { name, dir } of REAL_VOCABULARIES) {
  test(`streaming the real ${name} vocabulary's goldens gives decode(ids), with and without specials`, async () => {
    const tokenizer = await HfTokenizer.fromFolder(dir);
    for (const e of realGolden(name).encode) {
      assertStreamsExactly(tokenizer, e.ids, e.decoded, e.text);
      const withSpecial = [...e.ids_with_special, ...tokenizer.eosTokenIds];
      assert.equal(streamed(tokenizer, withSpecial, { skipSpecialTokens: true }).join(''), e.text);
      assert.equal(streamed(tokenizer, withSpecial).join(''), tokenizer.decode(withSpecial));
    }
  });
}

describe('streaming where decoding token by token is wrong', async () => {
  const llama2 = await HfTokenizer.fromFolder(REAL_VOCABULARIES[1].dir);
  const llama3 = await HfTokenizer.fromFolder(REAL_VOCABULARIES[0].dir);

  test('SentencePiece: each token alone loses its leading space, the stream keeps it', () => {
    const ids = llama2.encode('To be, or not to be', { addSpecialTokens: false });
    assert.equal(naive(llama2, ids).join(''), 'Tobe,ornottobe');
    assert.deepEqual(streamed(llama2, ids), ['To', ' be', ',', ' or', ' not', ' to', ' be', '']);
  });

  test('an emoji split over byte-fallback tokens comes out whole, once its last byte arrives', () => {
    const ids = llama2.encode('Hi 👋!', { addSpecialTokens: false });
    assert.deepEqual(
      ids
        .slice(-5)
        .map((id) => llama2.decode([id]))
        .slice(0, 4),
      ['\uFFFD', '\uFFFD', '\uFFFD', '\uFFFD'],
    );
    assert.deepEqual(streamed(llama2, ids), ['Hi', ' ', '', '', '', '👋', '!', '']);
  });

  test('byte-level BPE: a skin-tone emoji over several tokens is held until complete', () => {
    const ids = llama3.encode('👋🏽', { addSpecialTokens: false });
    assert.ok(naive(llama3, ids).join('').includes('\uFFFD'));
    const pieces = streamed(llama3, ids);
    assert.equal(pieces.join(''), '👋🏽');
    assert.ok(!pieces.some((p) => p.includes('\uFFFD')));
  });

  test('after a prompt, the first generated SentencePiece token keeps its space', () => {
    const prompt = llama2.encode('Hello');
    const all = llama2.encode('Hello world, again');
    const generated = all.slice(prompt.length);
    assert.equal(streamed(llama2, generated, { precedingIds: prompt }).join(''), ' world, again');
    assert.equal(streamed(llama2, generated).join(''), 'world, again');
  });

  test('an unfinished character at the end comes out as U+FFFD, as decode gives it', () => {
    const bytes = llama2.encode('👋', { addSpecialTokens: false }).slice(1, 3);
    assert.deepEqual(streamed(llama2, bytes), ['', '', llama2.decode(bytes)]);
  });

  test('the byte tokenizer streams the same way', () => {
    const bytes = new ByteTokenizer();
    const text = 'naïve 👋🏽 日本';
    assertStreamsExactly(bytes, [...bytes.encode(text), 256], text, 'bytes');
  });
});

describe('work per token is bounded', async () => {
  const llama2 = await HfTokenizer.fromFolder(REAL_VOCABULARIES[1].dir);
  const golden = realGolden('llama2');

  /** The longest run of ids one push decoded, and the text. */
  function windowOf(ids: readonly number[]): { longest: number; text: string } {
    let longest = 0;
    const decoder = new WindowedStreamDecoder(
      (window) => {
        longest = Math.max(longest, window.length);
        return llama2.decode(window);
      },
      () => false,
    );
    const text = ids.map((id) => decoder.push(id)).join('') + decoder.flush();
    return { longest, text };
  }

  test('a long multilingual text decodes in short windows', () => {
    const ids = Array.from({ length: 20 }, () => golden.encode.flatMap((e) => e.ids)).flat();
    const { longest, text } = windowOf(ids);
    assert.ok(ids.length > 2000);
    assert.equal(text, llama2.decode(ids));
    assert.ok(longest <= 8, `a push decoded ${longest} ids`);
  });

  test('a model emitting stray bytes does not grow the window', () => {
    // <0x80>, a lone continuation byte, is never a character: every push ends in U+FFFD.
    const stray = llama2.tokenId('<0x80>')!;
    const ids = [...llama2.encode('ok', { addSpecialTokens: false }), ...Array<number>(500).fill(stray)];
    const { longest, text } = windowOf(ids);
    assert.equal(text, llama2.decode(ids));
    // At most 5 ids of context and 16 held before the decoder lets the stray bytes out.
    assert.ok(longest <= 21, `a push decoded ${longest} ids`);
  });
});
