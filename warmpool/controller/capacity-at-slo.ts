/** Fewer first tokens than this in a report say too little of a p90 to act on. */
const MIN_SAMPLES = 5;

export interface CapacityAtSloOptions {
  /** A bound learnt from a breach is forgotten after this long without another (the load may change). */
  readonly forgetMs?: number;
}

/**
 * Concurrent requests one instance serves within the deployment's time-to-first-token SLO, measured
 * from what its instances do: each controller tick pairs the requests in flight per ready instance with
 * the p90 time to first token the gateways saw lately (their own queue wait left out).
 *
 * The instance's concurrency limit (its batch size) is the ceiling, and the estimate while nothing says
 * otherwise. A p90 over the SLO at `c` per instance bounds capacity to `c × slo / p90`: past its batch's
 * sweet spot a request's first token waits for those ahead of it, about in proportion to how many there
 * are. A p90 within the SLO at more than the bound raises it to what was served. A bound with no breach
 * for `forgetMs` goes, so a deployment whose requests became lighter gets its capacity back.
 */
export class CapacityAtSlo {
  readonly #forgetMs: number;
  #bound: number | undefined;
  #breachAt = 0;

  constructor(o: CapacityAtSloOptions = {}) {
    this.#forgetMs = o.forgetMs ?? 15 * 60_000;
  }

  observe(
    at: number,
    perInstance: number,
    firstToken: { count: number; p90Ms: number },
    sloMs: number,
  ): void {
    const { count, p90Ms } = firstToken;
    if (!(perInstance > 0) || !(count >= MIN_SAMPLES) || !Number.isFinite(p90Ms) || !(sloMs > 0)) return;
    if (p90Ms > sloMs) {
      const bound = Math.max(1, (perInstance * sloMs) / p90Ms);
      if (this.#bound === undefined || bound < this.#bound) this.#bound = bound;
      this.#breachAt = at;
    } else if (this.#bound !== undefined && perInstance > this.#bound) {
      this.#bound = perInstance;
    }
  }

  /** Concurrent requests per instance within the SLO, at most `ceiling`. */
  estimate(at: number, ceiling: number): number {
    if (this.#bound === undefined) return ceiling;
    if (at - this.#breachAt > this.#forgetMs) {
      this.#bound = undefined;
      return ceiling;
    }
    return Math.min(ceiling, this.#bound);
  }
}
