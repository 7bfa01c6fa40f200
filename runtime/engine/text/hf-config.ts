import { tokenizerInvalid } from './errors.ts';

/** The parts of tokenizer_config.json warmgate uses; the rest of the file is left to the library. */
export interface TokenizerConfig {
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly unkToken: string | null;
  readonly padToken: string | null;
  /** additional_special_tokens (transformers v4) and extra_special_tokens (v5). */
  readonly additionalSpecialTokens: readonly string[];
  /** Set explicitly, these replace tokenizer.json's post-processor, as transformers does; null leaves it. */
  readonly addBosToken: boolean | null;
  readonly addEosToken: boolean | null;
  /** added_tokens_decoder: tokens transformers adds when tokenizer.json lacks them. */
  readonly addedTokens: readonly AddedTokenSpec[];
  /** chat_template: the string, or the one named 'default' when the file lists several; null when none. */
  readonly chatTemplate: string | null;
  /** The file as parsed, for @huggingface/tokenizers. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface AddedTokenSpec {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  readonly [field: string]: unknown;
}

const EMPTY_CONFIG = {};

/** Reads tokenizer_config.json's object (absent: an empty one); a field of the wrong type is named. */
export function parseTokenizerConfig(json: unknown = EMPTY_CONFIG): TokenizerConfig {
  const raw = objectOf(json, 'tokenizer_config.json');
  const extra = raw.extra_special_tokens;
  return Object.freeze({
    bosToken: tokenText(raw, 'bos_token'),
    eosToken: tokenText(raw, 'eos_token'),
    unkToken: tokenText(raw, 'unk_token'),
    padToken: tokenText(raw, 'pad_token'),
    additionalSpecialTokens: [
      ...tokenList(raw.additional_special_tokens, 'additional_special_tokens'),
      // v5 writes a list, or a map of name -> token for multimodal models.
      ...tokenList(isRecord(extra) ? Object.values(extra) : extra, 'extra_special_tokens'),
    ],
    addBosToken: optionalBoolean(raw, 'add_bos_token'),
    addEosToken: optionalBoolean(raw, 'add_eos_token'),
    addedTokens: addedTokens(raw.added_tokens_decoder),
    chatTemplate: chatTemplate(raw.chat_template),
    raw,
  });
}

/** generation_config.json's eos_token_id, one id or a list; [] when the file or the field is absent. */
export function generationEosIds(json: unknown): number[] {
  if (json === undefined) return [];
  const raw = objectOf(json, 'generation_config.json');
  const eos = raw.eos_token_id;
  if (eos === undefined || eos === null) return [];
  const ids = Array.isArray(eos) ? eos : [eos];
  for (const id of ids) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw tokenizerInvalid(
        `generation_config.json: eos_token_id must be a token id or a list of them, got ${JSON.stringify(eos)}`,
      );
    }
  }
  return ids as number[];
}

function objectOf(json: unknown, file: string): Record<string, unknown> {
  if (!isRecord(json)) throw tokenizerInvalid(`${file} must hold a JSON object, got ${describe(json)}`);
  return json;
}

/** A special token is written as its text or as an AddedToken object ({ content, ... }). */
function tokenText(raw: Record<string, unknown>, field: string): string | null {
  const value = raw[field];
  if (value === undefined || value === null) return null;
  const text = tokenContent(value);
  if (text === null) {
    throw tokenizerInvalid(
      `tokenizer_config.json: ${field} must be a string or {"content": ...}, got ${describe(value)}`,
    );
  }
  return text;
}

function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  return null;
}

function tokenList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw tokenizerInvalid(`tokenizer_config.json: ${field} must be a list, got ${describe(value)}`);
  return value.map((v) => {
    const text = tokenContent(v);
    if (text === null)
      throw tokenizerInvalid(`tokenizer_config.json: ${field} holds ${describe(v)}, not a token`);
    return text;
  });
}

function optionalBoolean(raw: Record<string, unknown>, field: string): boolean | null {
  const value = raw[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean')
    throw tokenizerInvalid(`tokenizer_config.json: ${field} must be true or false`);
  return value;
}

function addedTokens(value: unknown): AddedTokenSpec[] {
  if (value === undefined || value === null) return [];
  if (!isRecord(value))
    throw tokenizerInvalid('tokenizer_config.json: added_tokens_decoder must map ids to tokens');
  return Object.entries(value).map(([key, token]) => {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || !isRecord(token) || typeof token.content !== 'string') {
      throw tokenizerInvalid(`tokenizer_config.json: added_tokens_decoder["${key}"] is not an added token`);
    }
    return { ...token, id, content: token.content, special: token.special === true };
  });
}

function chatTemplate(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    // Several named templates (default, tool_use, rag...): chat uses the default one.
    for (const entry of value) {
      if (!isRecord(entry) || typeof entry.name !== 'string' || typeof entry.template !== 'string') {
        throw tokenizerInvalid(
          'tokenizer_config.json: chat_template lists entries that are not {name, template}',
        );
      }
      if (entry.name === 'default') return entry.template;
    }
    return null;
  }
  throw tokenizerInvalid(
    `tokenizer_config.json: chat_template must be a string or a list, got ${describe(value)}`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}
