import type { ServedTokenizer } from '../instances/index.ts';

/**
 * A prompt as the gateway hands it to an instance. Text, for a byte-level model: its tokens are its
 * UTF-8 bytes, so the gateway counts them without encoding and the instance encodes it. Otherwise the
 * ids the model's own tokenizer gave (TokenizedPrompt), sent as they are so the instance does not encode
 * twice.
 */
export type Prompt = string | TokenizedPrompt;

export interface TokenizedPrompt {
  readonly ids: readonly number[];
  /** The ServedTokenizer id of the tokenizer that made `ids`: no instance serving another gets them. */
  readonly tokenizerId: string;
  /** The text that was encoded (a chat as its template rendered it), for the request's span. */
  readonly text: string;
}

/** The prompt's length in tokens, as the instance will count it. */
export function promptTokens(prompt: Prompt): number {
  return typeof prompt === 'string' ? Buffer.byteLength(prompt, 'utf8') : prompt.ids.length;
}

/** The prompt as text: what the client's request became, before any encoding. */
export function promptText(prompt: Prompt): string {
  return typeof prompt === 'string' ? prompt : prompt.text;
}

/** What POST /generate takes: the text of a byte-level prompt, the ids of a tokenized one. */
export function instancePrompt(prompt: Prompt): string | readonly number[] {
  return typeof prompt === 'string' ? prompt : prompt.ids;
}

/**
 * Whether an instance serving `tokenizer` reads the prompt as the gateway counted it. An instance that
 * names no tokenizer is byte-level.
 */
export function servesPrompt(tokenizer: ServedTokenizer | undefined, prompt: Prompt): boolean {
  if (typeof prompt === 'string') return tokenizer === undefined || tokenizer.type === 'byte';
  return tokenizer?.type === 'huggingface' && tokenizer.id === prompt.tokenizerId;
}
