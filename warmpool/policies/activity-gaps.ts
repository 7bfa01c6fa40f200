import type { HistoryReader } from './demand-history.ts';
import { BucketedGaps, ExactGaps, type GapSample } from './gap-sample.ts';

/**
 * The idle gaps a deployment had, from its history: the time from one active fine bucket to the next
 * (the deployment's, and each capacity level's), over the last hour the fine history keeps, at most the
 * last RECENT of them; and the longer gaps of the coarse idle histogram. Kept up to date incrementally
 * (each call reads only the fine buckets closed since the last one, so following a busy deployment costs
 * O(seconds elapsed), not O(history) a tick), yet what it holds depends only on the history: a cache
 * that is new gives the same answer as one that followed all along.
 */
export class ActivityGaps {
  readonly #perInstance: number;
  readonly #fineMs: number;
  #scannedTo = -Infinity;
  readonly #activity: ActiveBuckets;
  #long: GapSample | undefined;
  #longCount = -1;
  /** Per capacity level k ≥ 2 (index k - 2): the buckets it was needed in. */
  readonly #levels: ActiveBuckets[] = [];
  #level = 0;

  constructor(perInstance: number, fineMs: number) {
    this.#perInstance = perInstance;
    this.#fineMs = fineMs;
    this.#activity = new ActiveBuckets(fineMs);
  }

  /** Reads what closed since the last call. */
  update(history: HistoryReader): this {
    const fine = this.#fineMs;
    const to = history.closedBefore;
    if (!(to > this.#scannedTo)) return this;
    const windowStart = Math.ceil((to - WINDOW_MS) / fine);
    const from = Math.max(this.#scannedTo, windowStart * fine);
    const counts = history.series(from, to, fine);
    const conc = history.concurrencySeries(from, to);
    const first = Math.ceil(from / fine);
    for (let i = 0; i < counts.length; i++) {
      const b = first + i;
      if (counts[i]! > 0) this.#activity.add(b, counts[i]!);
      // A bucket with no sample keeps the level of the last one (the controller samples once a tick).
      const c = conc[i]!;
      if (!Number.isNaN(c)) this.#level = Math.ceil(c / this.#perInstance - 1e-9);
      for (let k = 2; k <= this.#level; k++) (this.#levels[k - 2] ??= new ActiveBuckets(fine)).add(b, 1);
    }
    this.#activity.expire(windowStart);
    for (const l of this.#levels) l.expire(windowStart);
    this.#scannedTo = to;
    return this;
  }

  /** Gaps between the deployment's active fine buckets. */
  recent(): GapSample {
    return this.#activity.stats().sample;
  }

  /**
   * The gaps between active coarse buckets from the idle histogram (all the coarse history kept, at its
   * resolution, up to its range): what is known of gaps longer than the fine history.
   */
  long(history: HistoryReader): GapSample {
    const bins = history.idleHistogram();
    let n = 0;
    for (const c of bins) n += c;
    if (this.#long === undefined || n !== this.#longCount) {
      // Bin i of the idle histogram: i empty coarse buckets between two active ones, so the
      // activations were about i + 1 buckets apart.
      this.#long = new BucketedGaps(bins, history.coarseMs);
      this.#longCount = n;
    }
    return this.#long;
  }

  /** Levels k ≥ 2 seen in the window: index k - 2 (some may have expired: `level` says). */
  get levels(): number {
    return this.#levels.length;
  }

  /** Level k's gaps (k ≥ 2) and when it was last needed (epoch ms), or undefined if not in the window. */
  level(k: number): { sample: GapSample; lastNeeded: number } | undefined {
    const l = this.#levels[k - 2];
    if (l === undefined || l.last === undefined) return undefined;
    return { sample: l.stats().sample, lastNeeded: l.last * this.#fineMs };
  }

  /** Mean arrivals per activation (an active fine bucket after an idle one), 1 when none. */
  get perActivation(): number {
    return this.#activity.stats().perActivation;
  }

  /** Arrivals per ms while active (per active fine bucket). */
  get activeRate(): number {
    return this.#activity.stats().perBucket / this.#fineMs;
  }
}

/** The fine history's window: gaps are read from its last hour. */
const WINDOW_MS = 3_600_000;
/** At most this many of the newest active buckets are kept (and their gaps sampled). */
const RECENT = 128;

/**
 * The newest active buckets in the window, in order, each with its arrivals; a gap is counted between
 * two held buckets only, so what is held depends on the window, not on when reading began.
 */
class ActiveBuckets {
  readonly #bucket = new Float64Array(RECENT);
  readonly #count = new Float64Array(RECENT);
  #head = 0;
  #length = 0;
  #stats: { sample: GapSample; perActivation: number; perBucket: number } | undefined;

  constructor(readonly fineMs: number) {}

  add(b: number, arrivals: number): void {
    const slot = (this.#head + this.#length) % RECENT;
    if (this.#length === RECENT) this.#head = (this.#head + 1) % RECENT;
    else this.#length++;
    this.#bucket[slot] = b;
    this.#count[slot] = arrivals;
    this.#stats = undefined;
  }

  /** Drops buckets before `windowStart`. */
  expire(windowStart: number): void {
    while (this.#length > 0 && this.#bucket[this.#head]! < windowStart) {
      this.#head = (this.#head + 1) % RECENT;
      this.#length--;
      this.#stats = undefined;
    }
  }

  /** The newest bucket held. */
  get last(): number | undefined {
    return this.#length === 0 ? undefined : this.#at(this.#length - 1);
  }

  #at(i: number): number {
    return this.#bucket[(this.#head + i) % RECENT]!;
  }

  /** Gaps between consecutive held buckets (ms), arrivals per activation and per active bucket. */
  stats(): { sample: GapSample; perActivation: number; perBucket: number } {
    if (this.#stats !== undefined) return this.#stats;
    const gaps: number[] = [];
    let arrivals = 0;
    let activations = 0;
    for (let i = 0; i < this.#length; i++) {
      arrivals += this.#count[(this.#head + i) % RECENT]!;
      const gap = i === 0 ? Infinity : this.#at(i) - this.#at(i - 1);
      if (gap > 1) activations++;
      if (i > 0) gaps.push(gap * this.fineMs);
    }
    return (this.#stats = {
      sample: new ExactGaps(gaps),
      perActivation: activations === 0 ? 1 : arrivals / activations,
      perBucket: this.#length === 0 ? 0 : arrivals / this.#length,
    });
  }
}
