/** Ids 0..255 are the bytes of UTF-8 text; 256 is end-of-text. */
const EOS_TOKEN_ID = 256;
const VOCAB_SIZE = 257;

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF the model produced is text, not a byte-order mark to strip.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class ByteTokenizer {
  readonly vocabSize = VOCAB_SIZE;
  readonly eosTokenId = EOS_TOKEN_ID;

  encode(text: string): number[] {
    return Array.from(encoder.encode(text));
  }

  /** Skips EOS; byte runs that are not valid UTF-8 come out as U+FFFD. */
  decode(ids: readonly number[]): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (const id of ids) {
      if (id !== EOS_TOKEN_ID) bytes[n++] = checkByte(id);
    }
    return decoder.decode(bytes.subarray(0, n));
  }
}

/**
 * Turns generated ids into text as they arrive. A character split across tokens ('€' is three bytes)
 * is held until its last byte, so no piece ends in half a character.
 */
export class IncrementalDecoder {
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
