import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteTokenizer, IncrementalDecoder } from '../../../runtime/engine/text/byte-tokenizer.ts';

const tokenizer = new ByteTokenizer();

function streamed(ids: number[]): string[] {
  const decoder = new IncrementalDecoder();
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  return pieces;
}

describe('ByteTokenizer', () => {
  test('has 256 bytes plus EOS', () => {
    assert.equal(tokenizer.vocabSize, 257);
    assert.equal(tokenizer.eosTokenId, 256);
    assert.deepEqual(tokenizer.eosTokenIds, [256]);
    assert.equal(tokenizer.bosTokenId, null);
  });

  test('adds no special tokens and always skips EOS, whatever the options', () => {
    assert.deepEqual(tokenizer.encode('hi', { addSpecialTokens: true }), [0x68, 0x69]);
    assert.equal(tokenizer.decode([0x68, 256], { skipSpecialTokens: false }), 'h');
  });

  test('encodes UTF-8 bytes', () => {
    assert.deepEqual(tokenizer.encode('a€'), [0x61, 0xe2, 0x82, 0xac]);
    assert.deepEqual(tokenizer.encode(''), []);
  });

  test('decode inverts encode and skips EOS', () => {
    const text = 'naïve 😀 €5\n';
    assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
    assert.equal(tokenizer.decode([0x68, 256, 0x69, 256]), 'hi');
  });

  test('a leading byte-order mark is kept as text', () => {
    assert.equal(tokenizer.decode(tokenizer.encode('\uFEFFx')), '\uFEFFx');
  });

  test('ids outside the vocabulary throw', () => {
    assert.throws(() => tokenizer.decode([257]), RangeError);
    assert.throws(() => tokenizer.decode([-1]), RangeError);
  });
});

describe('IncrementalDecoder', () => {
  test('holds multibyte characters until their last byte', () => {
    const pieces = streamed(tokenizer.encode('a€😀b'));
    // a | e2 82 ac | f0 9f 98 80 | b | flush
    assert.deepEqual(pieces, ['a', '', '', '€', '', '', '', '😀', 'b', '']);
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
  });

  test('pieces join to the original text for mixed scripts', () => {
    const text = 'Grüße, 世界! 👩‍💻 ok';
    const pieces = streamed([...tokenizer.encode(text), 256]);
    assert.equal(pieces.join(''), text);
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
  });

  test('EOS yields nothing and does not break a pending character', () => {
    const [e2, x82, xac] = tokenizer.encode('€');
    assert.deepEqual(streamed([e2!, 256, x82!, xac!]), ['', '', '', '€', '']);
  });

  test('flush turns an unfinished character into one U+FFFD', () => {
    const bytes = tokenizer.encode('😀').slice(0, 2);
    assert.deepEqual(streamed(bytes), ['', '', '\uFFFD']);
  });

  test('ids outside the vocabulary throw', () => {
    assert.throws(() => new IncrementalDecoder().push(300), RangeError);
  });

  test("is the tokenizer's stream decoder", () => {
    const decoder = tokenizer.streamDecoder();
    assert.ok(decoder instanceof IncrementalDecoder);
    assert.equal([...tokenizer.encode('€!')].map((id) => decoder.push(id)).join('') + decoder.flush(), '€!');
  });
});
