import { checkRecord, countRecord, emptyCounters } from './counters.ts';
import { bucketStart, expiresAt } from './resolutions.ts';
import type { Counters, RequestRecord, Resolution } from './types.ts';

/** Counters to add to one bucket key, and when that key expires. */
export interface BucketWrite {
  key: string;
  expireAt: number;
  counts: Partial<Counters>;
}

export type KeyOf = (model: string, bucketMs: number, start: number) => string;

/**
 * The Redis store's memory, with no I/O: raw records (bounded; the oldest are dropped past `maxBuffered`)
 * and aggregated writes that have not reached Redis yet (bounded by retention: expired ones are let go).
 */
export class WriteBuffer {
  readonly #maxBuffered: number;
  readonly #resolutions: readonly Resolution[];
  readonly #keyOf: KeyOf;
  #records: RequestRecord[] = [];
  #head = 0;
  #unsent = new Map<string, BucketWrite>();
  #dropped = 0;

  constructor(maxBuffered: number, resolutions: readonly Resolution[], keyOf: KeyOf) {
    if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1)
      throw new RangeError(`history maxBuffered must be a positive integer, got ${maxBuffered}`);
    this.#maxBuffered = maxBuffered;
    this.#resolutions = resolutions;
    this.#keyOf = keyOf;
  }

  /** Records waiting to be aggregated. */
  get size(): number {
    return this.#records.length - this.#head;
  }

  /** Bucket keys whose counts have not reached Redis yet. */
  get unsentKeys(): number {
    return this.#unsent.size;
  }

  get dropped(): number {
    return this.#dropped;
  }

  push(r: RequestRecord): void {
    checkRecord(r);
    if (this.size >= this.#maxBuffered) {
      this.#head += 1;
      this.#dropped += 1;
    }
    this.#records.push(r);
  }

  /** Counts a record that could not be kept (e.g. recorded after close). */
  drop(): void {
    this.#dropped += 1;
  }

  /** Aggregates the buffered records into the unsent writes and hands all of them out, less the expired. */
  take(now: number): BucketWrite[] {
    for (let i = this.#head; i < this.#records.length; i++) this.#aggregate(this.#records[i]!);
    this.#records = [];
    this.#head = 0;
    const out = [...this.#unsent.values()].filter((w) => now < w.expireAt);
    this.#unsent = new Map();
    return out;
  }

  /** Gives back writes that did not reach Redis, to be sent with the next `take`. */
  retry(writes: readonly BucketWrite[]): void {
    for (const w of writes) {
      const into = this.#writeFor(w.key, w.expireAt);
      for (const [f, n] of Object.entries(w.counts) as [keyof Counters, number][])
        into.counts[f] = (into.counts[f] ?? 0) + n;
    }
  }

  #aggregate(r: RequestRecord): void {
    const one = emptyCounters();
    countRecord(one, r);
    for (const res of this.#resolutions) {
      const start = bucketStart(r.at, res.bucketMs);
      this.retry([
        { key: this.#keyOf(r.model, res.bucketMs, start), expireAt: expiresAt(start, res), counts: one },
      ]);
    }
  }

  #writeFor(key: string, expireAt: number): BucketWrite {
    let w = this.#unsent.get(key);
    if (w === undefined) this.#unsent.set(key, (w = { key, expireAt, counts: {} }));
    return w;
  }
}
