import type { GenerationEvent, Tokenizer } from '../../engine/index.ts';

type TokenEvent = Extract<GenerationEvent, { type: 'token' }>;

// One per tokenizer, shared by every request of the instance; ids are few (the vocabulary), strings short.
const CACHES = new WeakMap<Tokenizer, (id: number) => string>();

/**
 * How a model's tokens read inside a text: each is decoded after an anchor token and the anchor's text
 * cut off, so a SentencePiece token keeps the leading space its decoder drops at the start of a text
 * (decoded alone, "▁be" reads "be"). Special tokens are included. A token that is part of a character
 * reads as U+FFFD. Remembered per tokenizer and id.
 */
export function tokenTexts(tokenizer: Tokenizer): (id: number) => string {
  let text = CACHES.get(tokenizer);
  if (text !== undefined) return text;
  const cache = new Map<number, string>();
  const anchor = tokenizer.encode('a', { addSpecialTokens: false }).slice(0, 1);
  const anchorText = tokenizer.decode(anchor);
  text = (id) => {
    let t = cache.get(id);
    if (t === undefined) {
      const both = tokenizer.decode([...anchor, id]);
      t = both.startsWith(anchorText) ? both.slice(anchorText.length) : tokenizer.decode([id]);
      cache.set(id, t);
    }
    return t;
  };
  CACHES.set(tokenizer, text);
  return text;
}

/** A token event with the texts of its token and of each alternative (GenerationEvent's `tokenText`). */
export function withTokenTexts(ev: TokenEvent, text: (id: number) => string): TokenEvent {
  return {
    ...ev,
    tokenText: text(ev.token),
    top: ev.top.map((a) => ({ ...a, tokenText: text(a.token) })),
  };
}
