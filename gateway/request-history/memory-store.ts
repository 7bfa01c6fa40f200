import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { checkRecord, countRecord, emptyCounters } from './counters.ts';
import { bucketStart, checkResolutions, chooseResolution, expiresAt } from './resolutions.ts';
import { planSeries } from './series.ts';
import type { Bucket, Counters, HistoryStore, RequestRecord, Resolution } from './types.ts';

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
  /** When each resolution was last pruned; pruning at most once per bucket keeps `record` cheap. */
  readonly #prunedAt: number[];

  constructor(options: MemoryHistoryOptions = {}) {
    this.#resolutions = checkResolutions(options.resolutions);
    this.#clock = options.clock ?? systemClock;
    this.#prunedAt = this.#resolutions.map(() => -Infinity);
  }

  record(r: RequestRecord): void {
    checkRecord(r);
    const now = this.#clock.now();
    this.#prune(now);
    let perRes = this.#models.get(r.model);
    if (perRes === undefined) {
      perRes = this.#resolutions.map(() => new Map<number, Counters>());
      this.#models.set(r.model, perRes);
    }
    // Indexed loops: this runs once per request; entries() made an iterator and a pair per resolution.
    for (let i = 0; i < this.#resolutions.length; i++) {
      const res = this.#resolutions[i]!;
      const start = bucketStart(r.at, res.bucketMs);
      if (now >= expiresAt(start, res)) continue; // already past retention
      const buckets = perRes[i]!;
      let c = buckets.get(start);
      if (c === undefined) buckets.set(start, (c = emptyCounters()));
      countRecord(c, r);
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
