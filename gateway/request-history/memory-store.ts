import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { checkArrival, checkEnd, countEnd, emptyCounters } from './counters.ts';
import { bucketStart, checkResolutions, chooseResolution, expiresAt } from './resolutions.ts';
import { planSeries } from './series.ts';
import type { Bucket, Counters, HistoryStore, RequestEnd, Resolution } from './types.ts';

export interface MemoryHistoryOptions {
  resolutions?: readonly Resolution[];
  /** Default systemClock. */
  clock?: Clock;
}

/** In-process history: per model, per resolution, bucket start -> counters. */
export class MemoryHistoryStore implements HistoryStore {
  readonly #resolutions: readonly Resolution[];
  readonly #clock: Clock;
  /** model -> one map per resolution (same order as #resolutions): bucket start -> counters. */
  readonly #models = new Map<string, Map<number, Counters>[]>();
  /** When each resolution was last pruned; pruning at most once per bucket keeps recording cheap. */
  readonly #prunedAt: number[];

  constructor(options: MemoryHistoryOptions = {}) {
    this.#resolutions = checkResolutions(options.resolutions);
    this.#clock = options.clock ?? systemClock;
    this.#prunedAt = this.#resolutions.map(() => -Infinity);
  }

  recordArrival(model: string, at: number): void {
    checkArrival(model, at);
    this.#count(model, at, null);
  }

  recordEnd(r: RequestEnd): void {
    checkEnd(r);
    this.#count(r.model, r.at, r);
  }

  /** Adds an arrival (`end` null) or a request's end to the buckets holding `at`, one per resolution. */
  #count(model: string, at: number, end: RequestEnd | null): void {
    const now = this.#clock.now();
    this.#prune(now);
    let perRes = this.#models.get(model);
    if (perRes === undefined) {
      perRes = this.#resolutions.map(() => new Map<number, Counters>());
      this.#models.set(model, perRes);
    }
    // Indexed loops: this runs twice per request; entries() made an iterator and a pair per resolution.
    for (let i = 0; i < this.#resolutions.length; i++) {
      const res = this.#resolutions[i]!;
      const start = bucketStart(at, res.bucketMs);
      if (now >= expiresAt(start, res)) continue; // already past retention
      const buckets = perRes[i]!;
      let c = buckets.get(start);
      if (c === undefined) buckets.set(start, (c = emptyCounters()));
      if (end === null) c.arrivals += 1;
      else countEnd(c, end);
    }
  }

  async flush(): Promise<void> {}

  async series(model: string, fromMs: number, toMs: number, bucketMs: number): Promise<Bucket[]> {
    const now = this.#clock.now();
    const res = chooseResolution(this.#resolutions, fromMs, bucketMs, now);
    const plan = planSeries(fromMs, toMs, bucketMs, res.bucketMs);
    const buckets = this.#models.get(model)?.[this.#resolutions.indexOf(res)];
    if (buckets !== undefined) {
      for (const start of plan.fineStarts) {
        const c = buckets.get(start);
        if (c !== undefined && now < expiresAt(start, res)) plan.add(start, c);
      }
    }
    return plan.buckets;
  }

  async close(): Promise<void> {
    this.#models.clear();
  }

  #prune(now: number): void {
    for (let i = 0; i < this.#resolutions.length; i++) {
      const res = this.#resolutions[i]!;
      if (now - this.#prunedAt[i]! < res.bucketMs) continue;
      this.#prunedAt[i] = now;
      for (const [model, perRes] of this.#models) {
        const buckets = perRes[i]!;
        for (const start of buckets.keys()) if (now >= expiresAt(start, res)) buckets.delete(start);
        if (perRes.every((b) => b.size === 0)) this.#models.delete(model);
      }
    }
  }
}
