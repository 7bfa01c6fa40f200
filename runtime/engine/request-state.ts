import type { AsyncQueue } from './async-queue.ts';
import type { GenerationError, GenerationEvent } from './generation-event.ts';
import type { SamplingParams } from './sampling/params.ts';
import type { SampleResult } from './sampling/sampler.ts';
import type { FinishReason, Sequence } from './sequence.ts';
import { StopMatcher } from './text/stop-matcher.ts';
import type { StreamDecoder, Tokenizer } from './text/tokenizer.ts';

interface SampleState {
  readonly decoder: StreamDecoder;
  readonly stop: StopMatcher;
  generated: number;
  finished: boolean;
}

/** When a request reached each stage, in performance.now() ms; null until it gets there. */
export interface RequestTimes {
  readonly arrivedAt: number;
  /** The first step that took it (a preempted request keeps its first). */
  readonly scheduledAt: number | null;
  readonly firstTokenAt: number | null;
  readonly finishedAt: number | null;
}

/** One request's streaming side: turns sampled tokens into events and decides when a sample ends. */
export class RequestState implements RequestTimes {
  readonly id: string;
  readonly promptTokens: number;
  /** Every id that ends a sample (the model may declare several). */
  readonly eosTokenIds: readonly number[];
  readonly #eos: ReadonlySet<number>;
  readonly arrivedAt = performance.now();
  scheduledAt: number | null = null;
  firstTokenAt: number | null = null;
  finishedAt: number | null = null;
  completionTokens = 0;
  readonly #params: SamplingParams;
  readonly #queue: AsyncQueue<GenerationEvent>;
  readonly #samples = new Map<number, SampleState>();
  readonly #tokenizer: Tokenizer;
  #finished = 0;

  constructor(
    id: string,
    promptTokens: number,
    params: SamplingParams,
    eosTokenIds: readonly number[],
    queue: AsyncQueue<GenerationEvent>,
    tokenizer: Tokenizer,
  ) {
    this.#tokenizer = tokenizer;
    this.id = id;
    this.promptTokens = promptTokens;
    this.#params = params;
    this.eosTokenIds = eosTokenIds;
    this.#eos = new Set(eosTokenIds);
    this.#queue = queue;
  }

  get done(): boolean {
    return this.#finished === this.#params.n;
  }

  add(seq: Sequence): void {
    this.#samples.set(seq.index, {
      // The prompt's ids decide how the first generated token reads (a SentencePiece leading space).
      decoder: this.#tokenizer.streamDecoder({
        skipSpecialTokens: true,
        precedingIds: seq.tokens.slice(0, seq.promptLength),
      }),
      stop: new StopMatcher(seq.params.stop),
      generated: 0,
      finished: false,
    });
  }

  /** Streams the token; returns why the sample ends now, or null to go on. */
  onToken(seq: Sequence, r: SampleResult, contextLength: number): FinishReason | null {
    const s = this.#samples.get(seq.index)!;
    s.generated++;
    this.completionTokens++;
    this.firstTokenAt ??= performance.now();
    if (this.#eos.has(r.token) && !this.#params.ignoreEos) return 'stop';
    const { emit, stopped } = s.stop.push(s.decoder.push(r.token));
    this.#queue.push({
      type: 'token',
      index: seq.index,
      token: r.token,
      text: emit,
      logprob: r.logprob,
      top: r.top,
    });
    if (stopped) return 'stop';
    if (s.generated >= this.#params.maxTokens || seq.tokens.length >= contextLength) return 'length';
    return null;
  }

  finish(seq: Sequence, reason: FinishReason): void {
    this.#close(seq.index, reason, seq.preemptions);
  }

  /** The engine failed under this request: one error event, then the stream ends. */
  fail(error: GenerationError): void {
    this.#queue.push(error);
    this.finishedAt = performance.now();
    this.#queue.close();
  }

  /** Samples that never started (an n>1 request aborted before its fork) end as aborted too. */
  abortRemaining(): void {
    for (let i = 0; i < this.#params.n; i++) this.#close(i, 'abort');
  }

  #close(index: number, reason: FinishReason, preemptions = 0): void {
    let s = this.#samples.get(index);
    if (!s) {
      const decoder = this.#tokenizer.streamDecoder({ skipSpecialTokens: true });
      s = { decoder, stop: new StopMatcher([]), generated: 0, finished: false };
      this.#samples.set(index, s);
    }
    if (s.finished) return;
    s.finished = true;
    this.#finished++;
    const text = reason === 'abort' ? '' : s.stop.push(s.decoder.flush()).emit + s.stop.flush();
    this.#queue.push({
      type: 'finish',
      index,
      reason,
      text,
      promptTokens: this.promptTokens,
      completionTokens: s.generated,
      preemptions,
    });
    if (this.done) {
      this.finishedAt = performance.now();
      this.#queue.close();
    }
  }
}
