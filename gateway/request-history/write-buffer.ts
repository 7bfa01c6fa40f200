import { checkArrival, checkEnd, COUNTER_FIELDS, countEnd, emptyCounters } from './counters.ts';
import { bucketKey, pageKey } from './keys.ts';
import { pageSlotOf } from './pages.ts';
import { bucketStart, expiresAt } from './resolutions.ts';
import type { RequestEnd, Resolution } from './types.ts';

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

/** A raw record: an arrival, or the end of a request (RequestEnd, told apart by its outcome). */
type Raw = { readonly model: string; readonly at: number } | RequestEnd;

/** Default bound on keys waiting for Redis (see WriteBuffer): about 5 h of one deployment's outage. */
const DEFAULT_MAX_UNSENT_KEYS = 20_000;

/**
 * The Redis store's memory, with no I/O: raw records, arrivals and ends (bounded; the oldest are dropped
 * past `maxBuffered`), and aggregated writes that have not reached Redis yet, bounded twice: expired ones
 * are let go, and at most `maxUnsentKeys` keys are held: when one more is needed, the bucket hash that
 * expires first (the oldest bucket) is dropped with its counts; arrival pages, what the controller reads,
 * go only when no hash is left.
 */
export class WriteBuffer {
  readonly #maxBuffered: number;
  readonly #maxUnsentKeys: number;
  readonly #resolutions: readonly Resolution[];
  readonly #prefix: string;
  #records: Raw[] = [];
  #head = 0;
  #unsent = new Map<string, KeyWrite>();
  #dropped = 0;
  #droppedKeys = 0;
  #droppedArrivals = 0;
  /** A flush whose reply was lost: its writes, and keys dropped since (their counts left with them). */
  #unknown: { writes: readonly KeyWrite[]; gone: Set<string> } | null = null;

  constructor(
    maxBuffered: number,
    resolutions: readonly Resolution[],
    prefix: string,
    maxUnsentKeys: number = DEFAULT_MAX_UNSENT_KEYS,
  ) {
    if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1)
      throw new RangeError(`history maxBuffered must be a positive integer, got ${maxBuffered}`);
    if (!Number.isSafeInteger(maxUnsentKeys) || maxUnsentKeys < 1)
      throw new RangeError(`history maxUnsentKeys must be a positive integer, got ${maxUnsentKeys}`);
    this.#maxBuffered = maxBuffered;
    this.#maxUnsentKeys = maxUnsentKeys;
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

  /** Keys dropped with their counts because more than maxUnsentKeys waited for Redis. */
  get droppedKeys(): number {
    return this.#droppedKeys;
  }

  /** Arrivals counted in the bucket hashes dropped that way (per resolution: each counts them once). */
  get droppedArrivals(): number {
    return this.#droppedArrivals;
  }

  pushArrival(model: string, at: number): void {
    checkArrival(model, at);
    this.#push({ model, at });
  }

  pushEnd(r: RequestEnd): void {
    checkEnd(r);
    this.#push(r);
  }

  #push(r: Raw): void {
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

  /** Whether a flush with a lost reply waits to be settled (`settle`) before the next `take`. */
  get inDoubt(): boolean {
    return this.#unknown !== null;
  }

  /** Aggregates the buffered records into the unsent writes, so raw records never pile up (e.g. in an outage). */
  aggregate(): void {
    for (let i = this.#head; i < this.#records.length; i++) this.#aggregate(this.#records[i]!);
    this.#records = [];
    this.#head = 0;
  }

  /** Aggregates the buffered records into the unsent writes and hands all of them out, less the expired. */
  take(now: number): KeyWrite[] {
    if (this.#unknown !== null)
      throw new Error('history: settle the flush whose reply was lost before the next');
    this.aggregate();
    const out = [...this.#unsent.values()].filter((w) => now < w.expireAt);
    this.#unsent = new Map();
    return out;
  }

  /** Gives back writes that did not reach Redis, to be sent with the next `take`. */
  retry(writes: readonly KeyWrite[]): void {
    // Merged under the bound like new counts: what came in meanwhile is added onto them.
    const newer = this.#unsent;
    this.#unsent = new Map();
    for (const batch of [writes, newer.values()]) {
      for (const w of batch) {
        const into = this.#writeFor(w.kind, w.key, w.expireAt);
        for (const [f, n] of Object.entries(w.incr)) into.incr[f] = (into.incr[f] ?? 0) + n;
      }
    }
  }

  /**
   * Gives back the writes of a flush whose reply was lost. They are held like failed ones (under the same
   * bound) until `settle` says whether that flush ran.
   */
  retryUnknown(writes: readonly KeyWrite[]): void {
    this.retry(writes);
    this.#unknown = { writes, gone: new Set() };
  }

  /**
   * Settles the flush given back by `retryUnknown`: `null` if it did not run (its counts stay, to be
   * sent), else what it left unwritten; what it did write comes off the held counts.
   */
  settle(ranButFailed: readonly KeyWrite[] | null): void {
    const unknown = this.#unknown;
    this.#unknown = null;
    if (unknown === null || ranButFailed === null) return;
    const owed = new Map(ranButFailed.map((w) => [w.key, w]));
    for (const w of unknown.writes) {
      const held = this.#unsent.get(w.key);
      // A key dropped meanwhile left with these counts; one made again since holds only newer counts.
      if (held === undefined || unknown.gone.has(w.key)) continue;
      const failed = owed.get(w.key);
      for (const [f, n] of Object.entries(w.incr)) {
        if (failed?.incr[f] !== undefined) continue;
        const left = (held.incr[f] ?? 0) - n;
        if (left > 0) held.incr[f] = left;
        else delete held.incr[f];
      }
      // A key whose expiry failed is kept with no increments, so its PEXPIREAT is sent again.
      if (Object.keys(held.incr).length === 0 && failed === undefined) this.#unsent.delete(w.key);
    }
  }

  #aggregate(r: Raw): void {
    const one = emptyCounters();
    const isEnd = 'outcome' in r;
    if (isEnd) countEnd(one, r);
    else one.arrivals = 1;
    const fields = COUNTER_FIELDS.filter((f) => one[f] !== 0);
    // An end with nothing to add (aborted before any token) needs no key at all.
    if (fields.length === 0) return;
    for (const res of this.#resolutions) {
      const start = bucketStart(r.at, res.bucketMs);
      const expireAt = expiresAt(start, res);
      const hash = this.#writeFor('hash', bucketKey(this.#prefix, r.model, res.bucketMs, start), expireAt);
      for (const f of fields) hash.incr[f] = (hash.incr[f] ?? 0) + one[f];
      // Pages hold arrivals only: an end adds to its arrival's hash and nothing else (types.ts, RequestEnd).
      if (isEnd) continue;
      const page = pageSlotOf(r.at, res);
      if (page === null) continue;
      const key = pageKey(this.#prefix, r.model, res.bucketMs, page.pageStart);
      const w = this.#writeFor('page', key, page.expireAt);
      w.incr[page.slot] = (w.incr[page.slot] ?? 0) + 1;
    }
  }

  #writeFor(kind: KeyWrite['kind'], key: string, expireAt: number): KeyWrite {
    let w = this.#unsent.get(key);
    if (w === undefined) {
      if (this.#unsent.size >= this.#maxUnsentKeys) this.#dropFirstExpiring();
      this.#unsent.set(key, (w = { kind, key, expireAt, incr: {} }));
    }
    return w;
  }

  /**
   * Makes room for one more key: drops the bucket hash that expires first, or with none held the page
   * that does (on a tie, the first created). Expiry alone would not do: the last hour's page expires
   * before this hour's seconds, and it holds every arrival the controller reads of that hour.
   * A scan, but only at the bound, and new keys come about once a second per deployment.
   */
  #dropFirstExpiring(): void {
    let first: KeyWrite | undefined;
    for (const w of this.#unsent.values()) {
      if (first === undefined || dropsBefore(w, first)) first = w;
    }
    if (first === undefined) return;
    this.#unsent.delete(first.key);
    this.#unknown?.gone.add(first.key);
    this.#droppedKeys += 1;
    if (first.kind === 'hash') this.#droppedArrivals += first.incr['arrivals'] ?? 0;
  }
}

/** Whether `a` is dropped before `b`: hashes before pages, then the one that expires first. */
function dropsBefore(a: KeyWrite, b: KeyWrite): boolean {
  if (a.kind !== b.kind) return a.kind === 'hash';
  return a.expireAt < b.expireAt;
}
