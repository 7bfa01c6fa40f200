/** A token as an instance's event carries it: its id, and its text when the instance named it. */
export interface NamedToken {
  readonly token: number;
  readonly tokenText?: string;
}

/** How tokens read in logprobs: each token's text and its bytes (chat's `bytes` field). */
export interface TokenTexts {
  text(t: NamedToken): string;
  bytes(t: NamedToken): number[];
}

const encoder = new TextEncoder();

/**
 * A token as its instance named it: an imported model's instance names every token of a request that
 * asked for logprobs as it reads inside a text (GenerationEvent's tokenText; its bytes are that text's
 * UTF-8), so the gateway runs no tokenizer for them. Unnamed, the token is one of warmgate's byte-level
 * models (ids 0..255 are UTF-8 bytes): a byte that is a whole character reads as itself, a byte inside a
 * multibyte character as OpenAI's "bytes:\xNN" form.
 */
export const TOKEN_TEXTS: TokenTexts = {
  text: (t) => t.tokenText ?? byteText(t.token),
  bytes: (t) =>
    t.tokenText !== undefined
      ? [...encoder.encode(t.tokenText)]
      : t.token >= 0 && t.token <= 255
        ? [t.token]
        : [],
};

function byteText(id: number): string {
  if (id < 0 || id > 255) return '';
  if (id < 0x80) return String.fromCharCode(id);
  return `bytes:\\x${id.toString(16).padStart(2, '0')}`;
}
