/** Samples kept per model and measure: recent enough to follow load, enough for a p99. Fixed memory. */
const CAPACITY = 1024;

export interface Quantiles {
  /** Samples the quantiles are of (the most recent ones, at most 1024). */
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * A model's most recent latencies (TTFT or TPOT) in a fixed ring, for the status page's p50/p99.
 * Noting is one store; quantiles sort a copy (nearest rank), only when someone asks.
 */
export class RecentLatency {
  readonly #ms = new Float64Array(CAPACITY);
  #next = 0;
  #size = 0;

  note(ms: number): void {
    this.#ms[this.#next] = ms;
    this.#next = (this.#next + 1) % CAPACITY;
    if (this.#size < CAPACITY) this.#size++;
  }

  /** Null before the first sample. */
  quantiles(): Quantiles | null {
    if (this.#size === 0) return null;
    const sorted = this.#ms.slice(0, this.#size).sort();
    const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * this.#size) - 1)]!;
    return { count: this.#size, p50Ms: rank(0.5), p99Ms: rank(0.99) };
  }
}
