/** What a request's stream carries: its tokens, then one finish per sample, or an error. */
export type GenerationEvent =
  | {
      readonly type: 'token';
      /** Which of the n samples. */
      readonly index: number;
      readonly token: number;
      /** Text completed by this token; '' while a character or a possible stop string is incomplete. */
      readonly text: string;
      readonly logprob: number;
      readonly top: readonly { token: number; logprob: number; tokenText?: string }[];
      /**
       * How the token reads inside a text (a SentencePiece token with its leading space), for logprobs;
       * the same on each `top` entry. The engine leaves them out: an instance's POST /generate adds them
       * when logprobs were asked of a model with its own tokenizer, so a caller needs no tokenizer to
       * name tokens. Absent, the token is a byte of a byte-level model.
       */
      readonly tokenText?: string;
    }
  | {
      readonly type: 'finish';
      readonly index: number;
      readonly reason: 'stop' | 'length' | 'abort';
      /** Text released at the end (held-back bytes or stop-string prefixes that never completed). */
      readonly text: string;
      readonly promptTokens: number;
      readonly completionTokens: number;
      /** Times this sample lost its KV blocks to preemption and was recomputed (0 for most requests). */
      readonly preemptions: number;
      /**
       * When the request's tokens came, as the engine saw them: arrival to first token, and first token to
       * this sample's end, ms. The engine leaves it out; an instance's POST /generate adds it, so a caller
       * that reads the answer whole (and sees every token at once) still knows TTFT and time per token.
       */
      readonly timing?: FinishTiming;
    }
  | GenerationError;

export interface FinishTiming {
  readonly ttftMs: number;
  readonly decodeMs: number;
}

/**
 * The step that carried this request failed (a broken model session, a broken invariant): the request
 * ends here, its blocks are freed, and the stream closes after this event.
 */
export interface GenerationError {
  readonly type: 'error';
  readonly code: 'engine_step_failed';
  readonly message: string;
}
