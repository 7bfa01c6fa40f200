import type { KVCacheStats } from './kv/index.ts';

/** The load report: cheap to build, so the gateway can poll it or carry it on responses. */
export interface EngineStats {
  readonly running: number;
  readonly waiting: number;
  readonly kvUsagePct: number;
  readonly kvFreeBlocks: number;
  readonly kvCachedBlocks: number;
  readonly kvTotalBlocks: number;
  readonly kvBytes: number;
  readonly prefixHitRate: number;
  /** Cumulative prompt tokens looked up in the prefix cache, and how many of them hit. */
  readonly prefixQueryTokens: number;
  readonly prefixHitTokens: number;
  /** Tokens sampled per second over the last few seconds. */
  readonly recentTokensPerSec: number;
  readonly steps: number;
  readonly preemptions: number;
  readonly requestsFinished: number;
  /** Sums over all steps: whole step (engine) and the ONNX Runtime call inside it, ms. */
  readonly stepMsTotal: number;
  readonly runMsTotal: number;
  readonly tokensComputed: number;
  readonly tokensSampled: number;
  /** Requests cancelled because their reader fell more than maxBufferedEvents events behind. */
  readonly stalledCancels: number;
  /** The most events one request has held unread since the engine started (its reader's lag). */
  readonly peakBufferedEvents: number;
}

export interface StepRecord {
  totalMs: number;
  runMs: number;
  tokens: number;
  seqs: number;
  sampled: number;
}

const WINDOW_MS = 5000;

export class StepStats {
  #steps = 0;
  #preemptions = 0;
  #requests = 0;
  #stepMs = 0;
  #runMs = 0;
  #computed = 0;
  #sampled = 0;
  #recent: { at: number; sampled: number }[] = [];

  step(r: StepRecord): void {
    this.#steps++;
    this.#stepMs += r.totalMs;
    this.#runMs += r.runMs;
    this.#computed += r.tokens;
    this.#sampled += r.sampled;
    const now = performance.now();
    this.#recent.push({ at: now, sampled: r.sampled });
    while (this.#recent.length && this.#recent[0]!.at < now - WINDOW_MS) this.#recent.shift();
  }

  preempted(n: number): void {
    this.#preemptions += n;
  }

  requestDone(): void {
    this.#requests++;
  }

  snapshot(o: {
    running: number;
    waiting: number;
    kv: KVCacheStats;
    kvBytes: number;
    stalledCancels: number;
    peakBufferedEvents: number;
  }): EngineStats {
    const now = performance.now();
    const recent = this.#recent.filter((r) => r.at >= now - WINDOW_MS);
    const span = recent.length ? Math.max(1, now - recent[0]!.at) : 1;
    return {
      running: o.running,
      waiting: o.waiting,
      kvUsagePct: 100 * o.kv.usage,
      kvFreeBlocks: o.kv.freeBlocks,
      kvCachedBlocks: o.kv.cachedBlocks,
      kvTotalBlocks: o.kv.numBlocks,
      kvBytes: o.kvBytes,
      prefixHitRate: o.kv.prefixQueriedTokens ? o.kv.prefixHitTokens / o.kv.prefixQueriedTokens : 0,
      prefixQueryTokens: o.kv.prefixQueriedTokens,
      prefixHitTokens: o.kv.prefixHitTokens,
      recentTokensPerSec: (1000 * recent.reduce((a, r) => a + r.sampled, 0)) / span,
      steps: this.#steps,
      preemptions: this.#preemptions,
      requestsFinished: this.#requests,
      stepMsTotal: this.#stepMs,
      runMsTotal: this.#runMs,
      tokensComputed: this.#computed,
      tokensSampled: this.#sampled,
      stalledCancels: o.stalledCancels,
      peakBufferedEvents: o.peakBufferedEvents,
    };
  }
}
