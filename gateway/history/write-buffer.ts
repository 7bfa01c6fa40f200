import { checkRecord, COUNTER_FIELDS, countRecord, emptyCounters } from './counters.ts';
import { bucketKey, pageKey } from './keys.ts';
import { pageSlotOf } from './pages.ts';
import { bucketStart, expiresAt } from './resolutions.ts';
import type { RequestRecord, Resolution } from './types.ts';

/**
 * Increments for one key, and when that key expires. A bucket hash ('hash') takes HINCRBY per counter
 * field; an arrivals page ('page') takes a saturating u32 BITFIELD INCRBY per slot (field = slot index).
 */
export interface KeyWrite {
  kind: 'hash' | 'page';
  key: string;
  expireAt: number;
  incr: Record<string, number>;
}

/**
 * The Redis store's memory, with no I/O: raw records (bounded; the oldest are dropped past `maxBuffered`)
 * and aggregated writes that have not reached Redis yet (bounded by retention: expired ones are let go).
 */
export class WriteBuffer {
  readonly #maxBuffered: number;
  readonly #resolutions: readonly Resolution[];
  readonly #prefix: string;
  #records: RequestRecord[] = [];
  #head = 0;
  #unsent = new Map<string, KeyWrite>();
  #dropped = 0;

  constructor(maxBuffered: number, resolutions: readonly Resolution[], prefix: string) {
    if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1)
      throw new RangeError(`history maxBuffered must be a positive integer, got ${maxBuffered}`);
    this.#maxBuffered = maxBuffered;
    this.#resolutions = resolutions;
    this.#prefix = prefix;
  }

  /** Records waiting to be aggregated. */
  get size(): number {
    return this.#records.length - this.#head;
  }

  /** Keys whose increments have not reached Redis yet. */
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
  take(now: number): KeyWrite[] {
    for (let i = this.#head; i < this.#records.length; i++) this.#aggregate(this.#records[i]!);
    this.#records = [];
    this.#head = 0;
    const out = [...this.#unsent.values()].filter((w) => now < w.expireAt);
    this.#unsent = new Map();
    return out;
  }

  /** Gives back writes that did not reach Redis, to be sent with the next `take`. */
  retry(writes: readonly KeyWrite[]): void {
    for (const w of writes) {
      const into = this.#writeFor(w.kind, w.key, w.expireAt);
      for (const [f, n] of Object.entries(w.incr)) into.incr[f] = (into.incr[f] ?? 0) + n;
    }
  }

  #aggregate(r: RequestRecord): void {
    const one = emptyCounters();
    countRecord(one, r);
    for (const res of this.#resolutions) {
      const start = bucketStart(r.at, res.bucketMs);
      const expireAt = expiresAt(start, res);
      const hash = this.#writeFor('hash', bucketKey(this.#prefix, r.model, res.bucketMs, start), expireAt);
      for (const f of COUNTER_FIELDS) if (one[f] !== 0) hash.incr[f] = (hash.incr[f] ?? 0) + one[f];
      const page = pageSlotOf(r.at, res);
      if (page === null) continue;
      const key = pageKey(this.#prefix, r.model, res.bucketMs, page.pageStart);
      const w = this.#writeFor('page', key, page.expireAt);
      w.incr[page.slot] = (w.incr[page.slot] ?? 0) + 1;
    }
  }

  #writeFor(kind: KeyWrite['kind'], key: string, expireAt: number): KeyWrite {
    let w = this.#unsent.get(key);
    if (w === undefined) this.#unsent.set(key, (w = { kind, key, expireAt, incr: {} }));
    return w;
  }
}
