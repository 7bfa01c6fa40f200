import type { Tokenizer } from '../../runtime/engine/api.ts';

/** How token ids read in logprobs: each token's text and its bytes (chat's `bytes` field). */
export interface TokenTexts {
  text(id: number): string;
  bytes(id: number): number[];
}

/**
 * warmgate's byte-level models (ids 0..255 are UTF-8 bytes): a byte that is a whole character reads as
 * itself, a byte inside a multibyte character as OpenAI's "bytes:\xNN" form.
 */
export const BYTE_TOKEN_TEXTS: TokenTexts = {
  text(id) {
    if (id < 0 || id > 255) return '';
    if (id < 0x80) return String.fromCharCode(id);
    return `bytes:\\x${id.toString(16).padStart(2, '0')}`;
  },
  bytes: (id) => (id >= 0 && id <= 255 ? [id] : []),
};

const encoder = new TextEncoder();
// One per tokenizer, shared by every request of its models; ids are few (the vocabulary), strings short.
const CACHES = new WeakMap<Tokenizer, Map<number, string>>();

/**
 * An imported model's tokens read as they do inside a text: each is decoded after an anchor token and the
 * anchor's text cut off, so a SentencePiece token keeps the leading space its decoder drops at the start
 * of a text (decoded alone, "▁be" reads "be"). Special tokens are included. A token that is part of a
 * character reads as U+FFFD; its bytes are then that character's, not the token's raw bytes, which the
 * tokenizer library does not expose.
 */
export function tokenizerTokenTexts(tokenizer: Tokenizer): TokenTexts {
  let cache = CACHES.get(tokenizer);
  if (cache === undefined) CACHES.set(tokenizer, (cache = new Map()));
  const anchor = tokenizer.encode('a', { addSpecialTokens: false }).slice(0, 1);
  const anchorText = tokenizer.decode(anchor);
  const text = (id: number): string => {
    let t = cache.get(id);
    if (t === undefined) {
      const both = tokenizer.decode([...anchor, id]);
      t = both.startsWith(anchorText) ? both.slice(anchorText.length) : tokenizer.decode([id]);
      cache.set(id, t);
    }
    return t;
  };
  return { text, bytes: (id) => [...encoder.encode(text(id))] };
}
