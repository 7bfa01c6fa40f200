import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './tokenizer.ts';

/** Ids 0..255 are the bytes of UTF-8 text; 256 is end-of-text. */
const EOS_TOKEN_ID = 256;
const VOCAB_SIZE = 257;

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF the model produced is text, not a byte-order mark to strip.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The demo models' tokenizer: no special tokens besides EOS, which decoding always skips. */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = VOCAB_SIZE;
  readonly eosTokenId = EOS_TOKEN_ID;
  readonly eosTokenIds: readonly number[] = Object.freeze([EOS_TOKEN_ID]);
  readonly bosTokenId = null;

  /** No options apply: there is nothing to add, and EOS is never text. */
  encode(text: string, _options?: EncodeOptions): number[] {
    return Array.from(encoder.encode(text));
  }

  /** Skips EOS; byte runs that are not valid UTF-8 come out as U+FFFD. */
  decode(ids: readonly number[], _options?: DecodeOptions): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (const id of ids) {
      if (id !== EOS_TOKEN_ID) bytes[n++] = checkByte(id);
    }
    return decoder.decode(bytes.subarray(0, n));
  }

  /** Each id is one byte, so no window is needed: bytes of an unfinished character wait in the decoder. */
  streamDecoder(): StreamDecoder {
    return new IncrementalDecoder();
  }
}

/**
 * Turns generated ids into text as they arrive. A character split across tokens ('€' is three bytes)
 * is held until its last byte, so no piece ends in half a character.
 */
export class IncrementalDecoder implements StreamDecoder {
  // One decoder per stream: it carries the bytes of an unfinished character between pushes.
  #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  #byte = new Uint8Array(1);

  /** The text completed by this id; often '' in the middle of a multibyte character. EOS gives ''. */
  push(id: number): string {
    if (id === EOS_TOKEN_ID) return '';
    this.#byte[0] = checkByte(id);
    return this.#decoder.decode(this.#byte, { stream: true });
  }

  /** Ends the stream: an unfinished character left over comes out as U+FFFD. */
  flush(): string {
    return this.#decoder.decode();
  }
}

function checkByte(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > 255) {
    throw new RangeError(`token id ${id} is outside the byte vocabulary (0..${EOS_TOKEN_ID})`);
  }
  return id;
}
