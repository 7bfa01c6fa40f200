/**
 * A deployment's arrival history in fixed rings of buckets: fine (1 s for an hour by default) for
 * recent windows, coarse (1 min for 14 days) for periodicity and idle times. The live controller fills
 * it from the history in Redis and the simulator from a trace, so a policy reads the same numbers in
 * both. Memory is fixed at construction; every update is O(buckets crossed).
 */
export interface HistoryOptions {
  readonly fineMs?: number;
  readonly fineKeepMs?: number;
  readonly coarseMs?: number;
  readonly coarseKeepMs?: number;
  /** Idle-time histogram range in coarse buckets (default 240: four hours of minutes, as in the paper). */
  readonly idleRangeBuckets?: number;
}

/** What a policy may read. */
export interface HistoryReader {
  readonly fineMs: number;
  readonly coarseMs: number;
  /** Epoch ms of the latest arrival added, or undefined before the first. */
  readonly lastArrivalAt: number | undefined;
  readonly firstArrivalAt: number | undefined;
  readonly totalArrivals: number;
  /** Every fine bucket before this instant is complete: nothing more will be added to it. */
  readonly closedBefore: number;
  /** Arrivals in [fromMs, toMs): fine buckets where retained, coarse ones further back (whole buckets). */
  arrivals(fromMs: number, toMs: number): number;
  /** Arrivals per bucket (bucketMs is fineMs or coarseMs) for the buckets starting in [fromMs, toMs); zero outside retention. */
  series(fromMs: number, toMs: number, bucketMs: number): Float64Array;
  /** Mean of the concurrency samples taken in [fromMs, toMs) (fine resolution), 0 when none. */
  concurrency(fromMs: number, toMs: number): number;
  /** Mean concurrency sample per fine bucket starting in [fromMs, toMs); NaN where none was taken. */
  concurrencySeries(fromMs: number, toMs: number): Float64Array;
  /**
   * Idle times between arrivals in coarse buckets: bin i counts gaps of i empty buckets between two
   * active ones (0 = consecutive); the last bin counts gaps of idleRangeBuckets or more. Only buckets
   * already closed (before the current one) are counted.
   */
  idleHistogram(): readonly number[];
  /**
   * A value derived from this history, cached for `validMs`: lets a policy stay a pure function of
   * (history, now) without recomputing costly features (e.g. a period) every tick.
   */
  memo<T>(key: string, now: number, validMs: number, compute: () => T): T;
}

const DEFAULTS = {
  fineMs: 1000,
  fineKeepMs: 3_600_000,
  coarseMs: 60_000,
  coarseKeepMs: 14 * 86_400_000,
  idleRangeBuckets: 240,
} as const;

/**
 * A ring of buckets indexed by absolute bucket number (start / bucketMs). Its array is allocated at
 * the first non-zero value: a deployment without arrivals (or concurrency samples) costs no memory,
 * and a controller that backfills a thousand deployments does not allocate and zero ~250 KB for each
 * before it knows which have any.
 */
class BucketRing {
  #values: Float64Array | undefined;
  /** Absolute number of the newest bucket, or -Infinity while empty. */
  head = -Infinity;

  constructor(
    readonly bucketMs: number,
    readonly size: number,
  ) {}

  /** Moves the head to bucket `b`, zeroing what it passes; `onClose` sees the bucket it leaves. */
  advance(b: number, onClose?: (bucket: number, value: number) => void): void {
    if (b <= this.head) return;
    // Buckets between the old head and b were empty, so only the old head can hold anything.
    if (this.head !== -Infinity) onClose?.(this.head, this.at(this.head));
    const v = this.#values;
    if (v !== undefined) {
      if (b - this.head >= this.size) v.fill(0);
      else for (let c = this.head + 1; c <= b; c++) v[this.#slot(c)] = 0;
    }
    this.head = b;
  }

  /** Value of bucket `b`, or 0 when it is out of the ring. */
  at(b: number): number {
    return this.#values !== undefined && this.holds(b) ? this.#values[this.#slot(b)]! : 0;
  }

  holds(b: number): boolean {
    return b <= this.head && b > this.head - this.size;
  }

  add(b: number, v: number): void {
    if (v === 0 || !this.holds(b)) return;
    this.#values ??= new Float64Array(this.size);
    this.#values[this.#slot(b)]! += v;
  }

  #slot(b: number): number {
    return ((b % this.size) + this.size) % this.size;
  }
}

function checkPositiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new RangeError(`history: ${name} must be a positive integer, got ${v}`);
  return v;
}

export class DemandHistory implements HistoryReader {
  readonly fineMs: number;
  readonly coarseMs: number;
  readonly #fine: BucketRing;
  readonly #coarse: BucketRing;
  readonly #concSum: BucketRing;
  readonly #concCount: BucketRing;
  readonly #idle: number[];
  #lastActiveCoarse: number | undefined;
  #lastAt: number | undefined;
  #firstAt: number | undefined;
  #total = 0;
  readonly #memo = new Map<string, { at: number; value: unknown }>();

  constructor(o: HistoryOptions = {}) {
    const c = { ...DEFAULTS, ...o };
    this.fineMs = checkPositiveInt('fineMs', c.fineMs);
    this.coarseMs = checkPositiveInt('coarseMs', c.coarseMs);
    if (this.coarseMs % this.fineMs !== 0)
      throw new RangeError(`history: coarseMs ${this.coarseMs} must be a multiple of fineMs ${this.fineMs}`);
    const fineSize = Math.ceil(checkPositiveInt('fineKeepMs', c.fineKeepMs) / this.fineMs);
    const coarseSize = Math.ceil(checkPositiveInt('coarseKeepMs', c.coarseKeepMs) / this.coarseMs);
    this.#fine = new BucketRing(this.fineMs, fineSize);
    this.#coarse = new BucketRing(this.coarseMs, coarseSize);
    this.#concSum = new BucketRing(this.fineMs, fineSize);
    this.#concCount = new BucketRing(this.fineMs, fineSize);
    this.#idle = new Array<number>(checkPositiveInt('idleRangeBuckets', c.idleRangeBuckets) + 1).fill(0);
  }

  get lastArrivalAt(): number | undefined {
    return this.#lastAt;
  }

  get firstArrivalAt(): number | undefined {
    return this.#firstAt;
  }

  get totalArrivals(): number {
    return this.#total;
  }

  get closedBefore(): number {
    return this.#fine.head === -Infinity ? -Infinity : this.#fine.head * this.fineMs;
  }

  /** Moves time forward to `now` (closing coarse buckets for the idle histogram). Never backwards. */
  advance(now: number): void {
    this.#fine.advance(Math.floor(now / this.fineMs));
    this.#concSum.advance(Math.floor(now / this.fineMs));
    this.#concCount.advance(Math.floor(now / this.fineMs));
    this.#coarse.advance(Math.floor(now / this.coarseMs), (b, v) => this.#closeCoarse(b, v));
  }

  /** Adds `count` arrivals at `at`; `at` must not be before the newest bucket already advanced to. */
  add(at: number, count = 1): void {
    if (!(count >= 0) || !Number.isFinite(at)) throw new RangeError(`history: bad arrival (${at}, ${count})`);
    if (count === 0) return;
    const b = Math.floor(at / this.fineMs);
    if (b < this.#fine.head)
      throw new RangeError(
        `history: arrival at ${at} is before the newest bucket (${this.#fine.head * this.fineMs})`,
      );
    this.advance(at);
    this.#fine.add(b, count);
    this.#coarse.add(Math.floor(at / this.coarseMs), count);
    this.#total += count;
    this.#firstAt ??= at;
    this.#lastAt = this.#lastAt === undefined ? at : Math.max(this.#lastAt, at);
  }

  /** Records the number of requests in flight seen at `at` (the reactive policy averages these). */
  observeConcurrency(at: number, value: number): void {
    if (!(value >= 0)) throw new RangeError(`history: concurrency must be >= 0, got ${value}`);
    const b = Math.floor(at / this.fineMs);
    if (b < this.#fine.head) return; // a late sample for a closed bucket: dropped, not misfiled
    this.advance(at);
    this.#concSum.add(b, value);
    this.#concCount.add(b, 1);
  }

  arrivals(fromMs: number, toMs: number): number {
    let sum = 0;
    let t = Math.ceil(fromMs / this.fineMs);
    const end = Math.ceil(toMs / this.fineMs);
    // Older than the fine ring: whole coarse buckets first.
    const fineOldest = this.#fine.head - this.#fine.size + 1;
    const ratio = this.coarseMs / this.fineMs;
    while (t < end && !this.#fine.holds(t) && t < fineOldest) {
      const c = Math.floor(t / ratio);
      sum += this.#coarse.at(c);
      t = (c + 1) * ratio;
    }
    for (; t < end; t++) sum += this.#fine.at(t);
    return sum;
  }

  series(fromMs: number, toMs: number, bucketMs: number): Float64Array {
    const ring =
      bucketMs === this.fineMs ? this.#fine : bucketMs === this.coarseMs ? this.#coarse : undefined;
    if (!ring)
      throw new RangeError(
        `history series: bucketMs must be ${this.fineMs} or ${this.coarseMs}, got ${bucketMs}`,
      );
    const first = Math.ceil(fromMs / bucketMs);
    const n = Math.max(0, Math.ceil(toMs / bucketMs) - first);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = ring.at(first + i);
    return out;
  }

  concurrency(fromMs: number, toMs: number): number {
    let sum = 0;
    let count = 0;
    for (let b = Math.ceil(fromMs / this.fineMs); b < Math.ceil(toMs / this.fineMs); b++) {
      sum += this.#concSum.at(b);
      count += this.#concCount.at(b);
    }
    return count === 0 ? 0 : sum / count;
  }

  concurrencySeries(fromMs: number, toMs: number): Float64Array {
    const first = Math.ceil(fromMs / this.fineMs);
    const out = new Float64Array(Math.max(0, Math.ceil(toMs / this.fineMs) - first));
    for (let i = 0; i < out.length; i++) {
      const n = this.#concCount.at(first + i);
      out[i] = n === 0 ? NaN : this.#concSum.at(first + i) / n;
    }
    return out;
  }

  idleHistogram(): readonly number[] {
    return this.#idle;
  }

  memo<T>(key: string, now: number, validMs: number, compute: () => T): T {
    const hit = this.#memo.get(key);
    if (hit !== undefined && now >= hit.at && now - hit.at < validMs) return hit.value as T;
    const value = compute();
    this.#memo.set(key, { at: now, value });
    return value;
  }

  #closeCoarse(bucket: number, arrivals: number): void {
    if (arrivals <= 0) return;
    if (this.#lastActiveCoarse !== undefined) {
      const gap = bucket - this.#lastActiveCoarse - 1;
      this.#idle[Math.min(gap, this.#idle.length - 1)]! += 1;
    }
    this.#lastActiveCoarse = bucket;
  }
}
