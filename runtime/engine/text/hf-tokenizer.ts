import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { tokenizerInvalid } from './errors.ts';
import { generationEosIds, parseTokenizerConfig, type TokenizerConfig } from './hf-config.ts';
import { readHfTextFiles, type HfTextFiles } from './read-hf-files.ts';
import type {
  DecodeOptions,
  EncodeOptions,
  StreamDecoder,
  StreamDecoderOptions,
  Tokenizer,
} from './tokenizer.ts';
import { WindowedStreamDecoder } from './windowed-stream-decoder.ts';

/** Byte-fallback tokens: text bytes even where a file marks them special (this repo's tiny fixtures do). */
const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

/**
 * A Hugging Face tokenizer.json run by @huggingface/tokenizers, which implements the `tokenizers`
 * pipeline (normalizers, pre-tokenizers, BPE with byte fallback, post-processors, decoders) as the file
 * declares it; the special tokens, eos ids and BOS rule come from tokenizer_config.json and
 * generation_config.json as transformers reads them. Decoding never applies transformers'
 * clean_up_tokenization_spaces: it rewrites text (" ," -> ","), and the engine must return what the
 * model produced.
 */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | null;
  readonly #lib: HfLibTokenizer;
  readonly #config: TokenizerConfig;
  /** Ids skipped with skipSpecialTokens. */
  readonly #special: ReadonlySet<number>;
  readonly #decodeKept = (ids: readonly number[]): string => this.#decodeIds(ids);

  private constructor(
    lib: HfLibTokenizer,
    config: TokenizerConfig,
    generationEos: readonly number[],
    byteFallback: boolean,
  ) {
    this.#lib = lib;
    this.#config = config;
    let maxId = -1;
    for (const id of lib.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (field: string, token: string | null): number | null => {
      if (token === null) return null;
      const id = lib.token_to_id(token);
      if (id === undefined) {
        throw tokenizerInvalid(
          `tokenizer_config.json names ${field} ${JSON.stringify(token)}, which tokenizer.json lacks`,
        );
      }
      return id;
    };
    this.bosTokenId = idOf('bos_token', config.bosToken);
    const configEos = idOf('eos_token', config.eosToken);
    for (const id of generationEos) {
      if (id >= this.vocabSize) {
        throw tokenizerInvalid(
          `generation_config.json: eos_token_id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`,
        );
      }
    }
    this.eosTokenIds = Object.freeze([
      ...new Set([...generationEos, ...(configEos === null ? [] : [configEos])]),
    ]);

    const special = new Set<number>();
    for (const token of lib.get_added_tokens_decoder().values()) {
      if (token.special && !(byteFallback && BYTE_TOKEN.test(token.content))) special.add(token.id);
    }
    const named = [
      config.bosToken,
      config.eosToken,
      config.unkToken,
      config.padToken,
      ...config.additionalSpecialTokens,
    ];
    for (const token of named) {
      const id = token === null ? undefined : lib.token_to_id(token);
      if (id !== undefined) special.add(id);
    }
    this.#special = special;
  }

  /** From a model folder; see readHfTextFiles for the files read and their errors. */
  static async fromFolder(dir: string): Promise<HfTokenizer> {
    return HfTokenizer.fromJson(await readHfTextFiles(dir));
  }

  /**
   * From parsed files (tokenizer_config.json and generation_config.json may be absent); a file that is
   * not a tokenizer throws TokenizerLoadError('tokenizer_invalid').
   */
  static fromJson(sources: Omit<HfTextFiles, 'chatTemplateJinja'>): HfTokenizer {
    const config = parseTokenizerConfig(sources.tokenizerConfig);
    const generationEos = generationEosIds(sources.generationConfig);
    const json = withConfigAddedTokens(checkTokenizerJson(sources.tokenizer), config);
    let lib: HfLibTokenizer;
    try {
      lib = new HfLibTokenizer(json, {
        ...config.raw,
        additional_special_tokens: config.additionalSpecialTokens,
        clean_up_tokenization_spaces: false,
      });
    } catch (e) {
      throw tokenizerInvalid(`tokenizer.json could not be loaded: ${(e as Error).message}`);
    }
    const model = json.model as Record<string, unknown>;
    return new HfTokenizer(lib, config, generationEos, model.byte_fallback === true);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const { addBosToken, addEosToken } = this.#config;
    if (!addSpecialTokens || (addBosToken === null && addEosToken === null)) {
      return this.#lib.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    }
    // add_bos_token / add_eos_token set in tokenizer_config.json take the post-processor's place.
    const ids = this.#lib.encode(text, { add_special_tokens: false }).ids;
    const eos = this.#config.eosToken === null ? undefined : this.#lib.token_to_id(this.#config.eosToken);
    return [
      ...(addBosToken && this.bosTokenId !== null ? [this.bosTokenId] : []),
      ...ids,
      ...(addEosToken && eos !== undefined ? [eos] : []),
    ];
  }

  /** Ids outside the vocabulary (a model's padded rows) give no text; a negative or fractional id throws. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    return this.#decodeIds(skip ? ids.filter((id) => !this.#special.has(id)) : ids);
  }

  streamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    const skip = options.skipSpecialTokens ?? false;
    const special = this.#special;
    return new WindowedStreamDecoder(
      this.#decodeKept,
      skip ? (id) => special.has(id) : () => false,
      options.precedingIds,
    );
  }

  /** The id of a token's text (a special token such as '<|eot_id|>'), or null when there is none. */
  tokenId(token: string): number | null {
    return this.#lib.token_to_id(token) ?? null;
  }

  #decodeIds(ids: readonly number[]): string {
    const known: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new RangeError(`token id ${id} is not a token id`);
      if (this.#lib.id_to_token(id) !== undefined) known.push(id);
    }
    if (known.length === 0) return '';
    return this.#lib.decode(known, { clean_up_tokenization_spaces: false });
  }
}

function checkTokenizerJson(json: unknown): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw tokenizerInvalid('tokenizer.json must hold a JSON object');
  }
  const file = json as Record<string, unknown>;
  const model = file.model;
  if (
    typeof model !== 'object' ||
    model === null ||
    typeof (model as Record<string, unknown>).type !== 'string'
  ) {
    throw tokenizerInvalid(
      'tokenizer.json has no "model" with a "type" (BPE, Unigram, WordPiece): is it a tokenizer.json?',
    );
  }
  if (file.added_tokens !== undefined && !Array.isArray(file.added_tokens)) {
    throw tokenizerInvalid('tokenizer.json: "added_tokens" must be a list');
  }
  return file;
}

/** tokenizer_config.json's added_tokens_decoder entries tokenizer.json lacks are added, as transformers does. */
function withConfigAddedTokens(
  json: Record<string, unknown>,
  config: TokenizerConfig,
): Record<string, unknown> {
  const listed = (json.added_tokens as { id?: unknown }[] | undefined) ?? [];
  const have = new Set(listed.map((t) => t.id));
  const missing = config.addedTokens.filter((t) => !have.has(t.id));
  if (missing.length === 0 && json.added_tokens !== undefined) return json;
  return { ...json, added_tokens: [...listed, ...missing] };
}
