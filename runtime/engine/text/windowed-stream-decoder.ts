import type { StreamDecoder } from './tokenizer.ts';

/** Earlier ids a window starts with at most, so the first new token reads as it does mid-text. */
const PRECEDING_WINDOW = 5;
/**
 * Tokens held while the text keeps ending in U+FFFD. Valid text needs at most a few (a character is at
 * most 4 bytes); a model emitting stray bytes would otherwise grow the window, and each step's work, forever.
 */
const MAX_HELD = 16;
/** A character still incomplete after MAX_HELD tokens lies within the last 3 (at most 3 of its 4 bytes). */
const KEEP_ON_FORCE = 3;

const REPLACEMENT = '\uFFFD';

/**
 * Streams text for tokenizers whose text for a token depends on its neighbours: a SentencePiece decoder
 * drops the first token's leading space, and byte tokens (byte-level BPE, <0xNN> byte fallback) make a
 * character only together. Each step decodes a short window: `prefix` (ids whose text is already out)
 * plus the held ids, and emits the window's text beyond the prefix's. The window restarts after each
 * emission, so work per token is bounded by the window, never the whole sequence.
 */
export class WindowedStreamDecoder implements StreamDecoder {
  readonly #decode: (ids: readonly number[]) => string;
  readonly #skip: (id: number) => boolean;
  /** The window: ids[0..#read) are the prefix (emitted), the rest are held. */
  #ids: number[];
  #read: number;
  #prefixText: string;

  /**
   * `decode` turns a run of ids into text (no skipping); `skip` says which ids give no text at all
   * (special tokens when they are skipped): they never enter the window.
   */
  constructor(
    decode: (ids: readonly number[]) => string,
    skip: (id: number) => boolean,
    precedingIds: readonly number[] = [],
  ) {
    this.#decode = decode;
    this.#skip = skip;
    this.#ids = precedingIds.filter((id) => !skip(id)).slice(-PRECEDING_WINDOW);
    this.#read = this.#ids.length;
    this.#prefixText = this.#ids.length > 0 ? decode(this.#ids) : '';
  }

  push(id: number): string {
    if (this.#skip(id)) return '';
    this.#ids.push(id);
    const text = this.#decode(this.#ids);
    const held = this.#ids.length - this.#read;
    // Ending in U+FFFD: the last character may still be incomplete, so wait for more bytes.
    if (text.length > this.#prefixText.length && !text.endsWith(REPLACEMENT)) {
      return this.#emit(text, this.#ids.length);
    }
    if (held >= MAX_HELD) {
      const end = this.#ids.length - KEEP_ON_FORCE;
      return this.#emit(this.#decode(this.#ids.slice(0, end)), end);
    }
    return '';
  }

  flush(): string {
    if (this.#read === this.#ids.length) return '';
    const text = this.#decode(this.#ids);
    return this.#emit(text, this.#ids.length);
  }

  /** Emits `text` (the window's ids up to `end`) beyond the prefix; the ids emitted become the prefix. */
  #emit(text: string, end: number): string {
    const out = text.slice(this.#prefixText.length);
    // The emitted ids become the prefix; a few are enough context (and keep a forced emission's short).
    const start = Math.max(this.#read, end - PRECEDING_WINDOW);
    this.#ids = this.#ids.slice(start);
    end -= start;
    this.#read = end;
    this.#prefixText = end > 0 ? this.#decode(this.#ids.slice(0, end)) : '';
    return out;
  }
}
