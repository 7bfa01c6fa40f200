import type { SamplingParams } from './sampling/params.ts';
import type { RandomSource } from './sampling/rng.ts';

/** Lower is more urgent. Interactive traffic is 0; batch/background work is 1. */
export type Priority = 0 | 1;
export const PRIORITY = { interactive: 0, batch: 1 } as const satisfies Record<string, Priority>;

export type FinishReason = 'stop' | 'length' | 'abort';

/**
 * One sample's token stream. A request with n samples starts as one sequence; when its prompt is
 * computed it forks into n sequences that share the prompt's KV blocks (copy-on-write).
 */
export interface Sequence {
  readonly id: string;
  readonly requestId: string;
  /** Which of the request's n samples this is. */
  readonly index: number;
  readonly priority: Priority;
  /** Admission order; ties in priority go to the earliest. */
  readonly arrival: number;
  readonly params: SamplingParams;
  readonly rng: RandomSource;
  /** Prompt followed by generated tokens. */
  readonly tokens: number[];
  readonly promptLength: number;
  /** Tokens whose keys and values are in the cache. Reset to 0 by preemption (recompute). */
  numComputed: number;
  /** True until the n-way fork has happened (only the first sequence of an n>1 request forks). */
  pendingFork: boolean;
  preemptions: number;
}

export const generatedCount = (s: Sequence): number => s.tokens.length - s.promptLength;
