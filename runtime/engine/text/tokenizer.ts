/**
 * What the engine and the gateway need from a model's tokenizer. ByteTokenizer (the demo models) and
 * HfTokenizer (imported Hugging Face models) implement it.
 */
export interface Tokenizer {
  /** Ids run 0..vocabSize-1 (the model's logits may have more rows: padding no token decodes from). */
  readonly vocabSize: number;
  /** Generation stops on any of these (a chat model ends its turn with one, its base model with another). */
  readonly eosTokenIds: readonly number[];
  /** Null when the model has none (Qwen2, the byte models). */
  readonly bosTokenId: number | null;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** A new decoder for one generated stream. */
  streamDecoder(options?: StreamDecoderOptions): StreamDecoder;
}

export interface EncodeOptions {
  /**
   * Add what the tokenizer adds around a text (Llama's BOS). Default true, as transformers does for a
   * completion prompt; a rendered chat template already holds its special tokens, so encode it with false.
   */
  readonly addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, <|im_start|>...). Default false, as transformers does. */
  readonly skipSpecialTokens?: boolean;
}

export interface StreamDecoderOptions extends DecodeOptions {
  /**
   * Ids the reader already has, usually the prompt's. Their text is not emitted again, but it decides how
   * the first generated token reads: a SentencePiece token after a prompt keeps its leading space.
   */
  readonly precedingIds?: readonly number[];
}

/**
 * Turns generated ids into text as they arrive. The pieces joined equal the decode of all ids, and no
 * piece ends in half a character: text is held until the character is complete.
 */
export interface StreamDecoder {
  /** The text this id completes; often '' (half a character, or a token whose text is not yet known). */
  push(id: number): string;
  /** Ends the stream: what was held comes out (an unfinished character as U+FFFD). */
  flush(): string;
}
