import type { EngineConfig } from '../config.ts';
import type { BlockCopy, KVCacheManager } from '../kv/index.ts';
import { type Sequence, sequenceProgress } from '../sequence.ts';
import { before, WaitingQueue } from './waiting-queue.ts';

/** One sequence's share of a step: compute tokens [numComputed, numComputed + numNew). */
export interface ScheduledSeq {
  readonly seq: Sequence;
  readonly numNew: number;
  /** The step reaches the end of the sequence's tokens, so its last position is sampled. */
  readonly samples: boolean;
  readonly copies: readonly BlockCopy[];
}

export interface StepPlan {
  readonly scheduled: ScheduledSeq[];
  readonly preempted: Sequence[];
  readonly numTokens: number;
}

/** The waiting queue as others see it: its size and its order, not its methods. */
export type WaitingView = Pick<WaitingQueue, 'length' | typeof Symbol.iterator>;

/**
 * What a sequence holds besides KV blocks while it runs (its LoRA adapter's slot): taken when it is
 * admitted, given back when it leaves the running list (finished, aborted or preempted). `acquire`
 * false is a shortfall: the sequence keeps waiting at the head.
 */
export interface SequenceResources {
  acquire(seq: Sequence): boolean;
  release(seq: Sequence): void;
}

const NO_RESOURCES: SequenceResources = { acquire: () => true, release: () => undefined };

type Limits = Pick<
  EngineConfig,
  'maxRunningSeqs' | 'maxBatchedTokens' | 'maxPrefillChunk' | 'enablePrefixCaching'
>;

/**
 * Forms each step's batch at iteration level. Running sequences go first, so decodes are never
 * starved by prefills; the rest of the token budget admits waiting sequences, whose prompts are cut
 * into chunks. When blocks run out the least urgent running sequence (lowest priority, then latest
 * arrival) is preempted: its blocks are freed and it waits to be recomputed.
 *
 * The scheduler owns the waiting queue, the running list and each sequence's progress: the engine adds,
 * forks, finishes and aborts sequences through it and reads the rest. The KV cache manager is asked for
 * slots and answers null when short, which is a normal outcome here, not an error.
 */
export class Scheduler {
  readonly #waiting = new WaitingQueue();
  #running: Sequence[] = [];
  readonly #kv: KVCacheManager;
  readonly #limits: Limits;
  readonly #resources: SequenceResources;

  constructor(limits: Limits, kv: KVCacheManager, resources: SequenceResources = NO_RESOURCES) {
    this.#limits = limits;
    this.#kv = kv;
    this.#resources = resources;
  }

  get running(): readonly Sequence[] {
    return this.#running;
  }

  get waiting(): WaitingView {
    return this.#waiting;
  }

  hasWork(): boolean {
    return this.#running.length > 0 || this.#waiting.length > 0;
  }

  /** A new sequence waits for admission. */
  add(seq: Sequence): void {
    this.#waiting.push(seq);
  }

  /**
   * The parent's prompt is computed: its n-1 siblings join the running list at once, sharing its blocks
   * (copy-on-write) and its progress.
   */
  fork(parent: Sequence, children: readonly Sequence[]): void {
    sequenceProgress.forked(parent);
    for (const child of children) {
      // The parent holds the same adapter's slot, so this cannot fall short.
      if (!this.#resources.acquire(child)) throw new Error(`fork: ${child.id} got no adapter slot`);
      this.#kv.fork(parent.id, child.id);
      sequenceProgress.computed(child, parent.numComputed);
      this.#running.push(child);
    }
  }

  /**
   * The step computed the scheduled tokens of `s.seq`; their full blocks become reusable prefixes.
   * False when the sequence left during the step (its request was aborted): nothing changes.
   */
  computed(s: ScheduledSeq): boolean {
    const { seq } = s;
    if (!this.#kv.has(seq.id)) return false;
    sequenceProgress.computed(seq, seq.numComputed + s.numNew);
    this.#kv.commitComputed(seq.id, seq.tokens, seq.numComputed, seq.adapterKey);
    return true;
  }

  /** A sequence finished: it leaves and its blocks go back. */
  finish(seq: Sequence): void {
    const i = this.#running.indexOf(seq);
    if (i >= 0) {
      this.#running.splice(i, 1);
      this.#resources.release(seq);
    }
    this.#kv.free(seq.id);
  }

  schedule(): StepPlan {
    const scheduled: ScheduledSeq[] = [];
    const preempted: Sequence[] = [];
    let budget = this.#limits.maxBatchedTokens;

    const preempt = (victim: Sequence): void => {
      this.#running.splice(this.#running.indexOf(victim), 1);
      this.#resources.release(victim);
      const j = scheduled.findIndex((s) => s.seq === victim);
      if (j >= 0) budget += scheduled.splice(j, 1)[0]!.numNew;
      this.#kv.free(victim.id);
      sequenceProgress.preempted(victim);
      preempted.push(victim);
      this.#waiting.push(victim);
    };

    for (const seq of [...this.#running]) {
      if (budget === 0) break;
      if (!this.#running.includes(seq)) continue; // preempted earlier in this loop
      const numNew = this.#chunk(seq, seq.numComputed, budget);
      if (numNew === 0) continue;
      let alloc = this.#kv.allocateSlots(seq.id, seq.numComputed + numNew);
      while (alloc === null) {
        const victim = this.#leastUrgentRunning();
        preempt(victim);
        if (victim === seq) break;
        alloc = this.#kv.allocateSlots(seq.id, seq.numComputed + numNew);
      }
      if (alloc === null) continue;
      scheduled.push(this.#entry(seq, numNew, alloc.copies));
      budget -= numNew;
    }

    // Admitting while preempting would only thrash: new work waits for the next step.
    while (preempted.length === 0 && budget > 0 && this.#running.length < this.#limits.maxRunningSeqs) {
      const seq = this.#waiting.peek();
      if (!seq) break;
      if (!this.#resources.acquire(seq)) break; // no adapter slot free yet; it keeps its place at the head
      const hit = this.#limits.enablePrefixCaching
        ? this.#kv.findCachedPrefix(seq.tokens, seq.adapterKey)
        : undefined;
      const start = hit?.numTokens ?? 0;
      const numNew = this.#chunk(seq, start, budget);
      const alloc = this.#kv.allocateSlots(seq.id, start + numNew, hit);
      if (alloc === null) {
        this.#resources.release(seq);
        break; // not enough blocks yet; it keeps its place at the head
      }
      this.#waiting.shift();
      sequenceProgress.computed(seq, start);
      this.#running.push(seq);
      scheduled.push(this.#entry(seq, numNew, alloc.copies));
      budget -= numNew;
    }

    return { scheduled, preempted, numTokens: this.#limits.maxBatchedTokens - budget };
  }

  /** Removes a request's sequences wherever they are; returns them so the caller can close streams. */
  abort(requestId: string): Sequence[] {
    const gone = this.#waiting.removeRequest(requestId);
    for (const seq of this.#running.filter((s) => s.requestId === requestId)) {
      this.finish(seq);
      gone.push(seq);
    }
    return gone;
  }

  #chunk(seq: Sequence, start: number, budget: number): number {
    const remaining = seq.tokens.length - start;
    return Math.min(remaining, budget, remaining > 1 ? this.#limits.maxPrefillChunk : 1);
  }

  #entry(seq: Sequence, numNew: number, copies: readonly BlockCopy[]): ScheduledSeq {
    return { seq, numNew, samples: seq.numComputed + numNew === seq.tokens.length, copies };
  }

  #leastUrgentRunning(): Sequence {
    let victim = this.#running[0]!;
    for (const s of this.#running) if (before(victim, s)) victim = s;
    return victim;
  }
}
