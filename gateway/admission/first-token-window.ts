/** Samples kept: enough for a p90 over a few seconds of a busy deployment, fixed memory. */
const CAPACITY = 1024;

/**
 * A deployment's recent times to first token at its instances (the gateway's queue wait left out): what
 * the controller measures capacity at the SLO from. A fixed ring; noting a sample is two stores.
 */
export class FirstTokenWindow {
  readonly #at = new Float64Array(CAPACITY);
  readonly #ms = new Float64Array(CAPACITY);
  #next = 0;
  #size = 0;

  note(ms: number, at: number): void {
    this.#at[this.#next] = at;
    this.#ms[this.#next] = ms;
    this.#next = (this.#next + 1) % CAPACITY;
    if (this.#size < CAPACITY) this.#size++;
  }

  /** The samples of the last `windowMs` before `now`: how many, and their 90th percentile (nearest rank). */
  summary(now: number, windowMs: number): { count: number; p90Ms: number } | undefined {
    const recent: number[] = [];
    for (let k = 0; k < this.#size; k++) {
      if (this.#at[k]! > now - windowMs && this.#at[k]! <= now) recent.push(this.#ms[k]!);
    }
    if (recent.length === 0) return undefined;
    recent.sort((a, b) => a - b);
    return { count: recent.length, p90Ms: recent[Math.ceil(0.9 * recent.length) - 1]! };
  }
}
