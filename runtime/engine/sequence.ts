import type { SamplingParams } from './sampling/params.ts';
import type { RandomSource } from './sampling/rng.ts';

/** Lower is more urgent. Interactive traffic is 0; batch/background work is 1. */
export type Priority = 0 | 1;
export const PRIORITY = { interactive: 0, batch: 1 } as const satisfies Record<string, Priority>;

export type FinishReason = 'stop' | 'length' | 'abort';

/** Writes to a sequence's progress through the KV cache: for the Scheduler, its owner, alone. */
export interface SequenceProgress {
  computed(seq: Sequence, numComputed: number): void;
  /** Its blocks were freed: it waits to be computed again from the start. */
  preempted(seq: Sequence): void;
  forked(seq: Sequence): void;
}

// Set by Sequence's static block below, the only code that can reach its private fields. Not exported
// from the engine's index.ts, and lint lets only the scheduler import it.
export let sequenceProgress: SequenceProgress;

export interface SequenceInit {
  readonly requestId: string;
  /** Which of the request's n samples this is. */
  readonly index: number;
  readonly priority: Priority;
  readonly arrival: number;
  readonly params: SamplingParams;
  readonly rng: RandomSource;
  /** The prompt, or for a fork its parent's tokens: the sequence keeps this array and appends to it. */
  readonly tokens: number[];
  /** The LoRA adapter it runs under and that adapter's prefix-cache key; none: the base model. */
  readonly adapter?: { readonly id: string; readonly cacheKey: string };
}

/**
 * One sample's token stream. A request with n samples starts as one sequence; when its prompt is
 * computed it forks into n sequences that share the prompt's KV blocks (copy-on-write).
 *
 * Its progress through the KV cache (numComputed, preemptions, the pending fork) is the Scheduler's to
 * change, through `sequenceProgress`; everyone else reads it.
 */
export class Sequence {
  readonly id: string;
  readonly requestId: string;
  readonly index: number;
  readonly priority: Priority;
  /** Admission order; ties in priority go to the earliest. */
  readonly arrival: number;
  readonly params: SamplingParams;
  readonly rng: RandomSource;
  readonly promptLength: number;
  /** The LoRA adapter's id, or null for the base model. */
  readonly adapter: string | null;
  /** Prefix-cache key of the adapter ('' for the base model): KV blocks are shared only under one key. */
  readonly adapterKey: string;
  readonly #tokens: number[];
  #numComputed = 0;
  #pendingFork: boolean;
  #preemptions = 0;

  constructor(o: SequenceInit) {
    this.id = `${o.requestId}#${o.index}`;
    this.requestId = o.requestId;
    this.index = o.index;
    this.priority = o.priority;
    this.arrival = o.arrival;
    this.params = o.params;
    this.rng = o.rng;
    this.#tokens = o.tokens;
    this.promptLength = o.tokens.length;
    this.adapter = o.adapter?.id ?? null;
    this.adapterKey = o.adapter?.cacheKey ?? '';
    // Only the first sequence forks; its siblings are born forked.
    this.#pendingFork = o.index === 0 && o.params.n > 1;
  }

  /** Prompt followed by generated tokens. */
  get tokens(): readonly number[] {
    return this.#tokens;
  }

  /** Tokens whose keys and values are in the cache. Reset to 0 by preemption (recompute). */
  get numComputed(): number {
    return this.#numComputed;
  }

  /** True until the n-way fork has happened (only the first sequence of an n>1 request forks). */
  get pendingFork(): boolean {
    return this.#pendingFork;
  }

  get preemptions(): number {
    return this.#preemptions;
  }

  /** A sampled token joins the stream; the next step computes its keys and values. */
  append(token: number): void {
    this.#tokens.push(token);
  }

  static {
    sequenceProgress = {
      computed(seq, numComputed) {
        seq.#numComputed = numComputed;
      },
      preempted(seq) {
        seq.#numComputed = 0;
        seq.#preemptions++;
      },
      forked(seq) {
        seq.#pendingFork = false;
      },
    };
  }
}
