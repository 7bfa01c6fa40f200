/**
 * A deployment's past idle gaps (time from one activation to the next) as a survival function S(t) =
 * weight of gaps longer than t, and its integral I(t) = ∫₀ᵗ S. The question a scaling decision asks then
 * costs O(log n): of the gaps that lasted as long as the idle time running now, how many ended within a
 * window ahead (S(x) - S(y)), and how long an instance ready through that window would have stood idle
 * (I(y) - I(x): it is idle at u while the gap runs past u). Where the gaps are few the answer is shrunk
 * towards a memoryless prior at the deployment's mean activation rate, so a deployment with little
 * history gets the Poisson answer: one activation more than the gaps that lasted as long as the idle time
 * so far, over the time they ran on past it and that idle time (which lowers it the longer a deployment
 * stays quiet: with no gap that long, one activation per idle time so far).
 */
export abstract class GapSample {
  /** Weight of gaps longer than `t` ms. */
  abstract survival(t: number): number;
  /** ∫₀ᵗ survival. */
  abstract integral(t: number): number;
  /** Total weight and the sum of all gaps (weighted), for the prior's rate. */
  abstract readonly total: number;
  abstract readonly sum: number;

  /** Gaps (weighted) that lasted longer than `ageMs`. */
  atRisk(ageMs: number): number {
    return this.survival(ageMs);
  }

  /**
   * With `ageMs` idle so far: the probability the next activation comes in (ageMs + fromMs, ageMs + toMs],
   * and the expected ms an instance ready through that window (until the activation) stands idle.
   */
  window(ageMs: number, fromMs: number, toMs: number): { p: number; idleMs: number } {
    const x = ageMs + fromMs;
    const y = ageMs + toMs;
    const atRisk = this.survival(ageMs);
    const within = this.survival(x) - this.survival(y);
    const idle = this.integral(y) - this.integral(x);
    // The prior's rate: one activation more than the gaps that lasted this long, over the time they ran
    // on past it (their mean residual life) and the idle time so far.
    const r = (atRisk + 1) / (this.sum - this.integral(ageMs) + Math.max(ageMs, 1));
    const survive = Math.exp(-r * fromMs);
    const pPrior = survive * (1 - Math.exp(-r * (toMs - fromMs)));
    return {
      p: (within + PRIOR_WEIGHT * pPrior) / (atRisk + PRIOR_WEIGHT),
      idleMs: (idle + (PRIOR_WEIGHT * pPrior) / r) / (atRisk + PRIOR_WEIGHT),
    };
  }
}

/**
 * Pseudo-gaps the memoryless prior weighs as. A few gaps say little about a window of seconds (none of
 * three random gaps may fall in it), so the prior keeps a say until a pattern has repeated: after 8 gaps
 * that all ended elsewhere, a window is taken as a fifth as likely to see an arrival as the prior says.
 */
const PRIOR_WEIGHT = 2;

/** Gaps known to the ms (the fine history's): a step survival function. */
export class ExactGaps extends GapSample {
  readonly #sorted: Float64Array;
  /** prefix[i] = sum of the i smallest gaps. */
  readonly #prefix: Float64Array;
  readonly total: number;
  readonly sum: number;

  constructor(gaps: readonly number[]) {
    super();
    this.#sorted = Float64Array.from(gaps).sort();
    this.#prefix = new Float64Array(gaps.length + 1);
    for (let i = 0; i < gaps.length; i++) this.#prefix[i + 1] = this.#prefix[i]! + this.#sorted[i]!;
    this.total = gaps.length;
    this.sum = this.#prefix[gaps.length]!;
  }

  survival(t: number): number {
    return this.total - this.#countAtMost(t);
  }

  integral(t: number): number {
    const i = this.#countAtMost(t);
    return this.#prefix[i]! + (this.total - i) * t;
  }

  /** Gaps ≤ t. */
  #countAtMost(t: number): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#sorted[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Gaps known to a bucket (the coarse history's): bucket counts `weights[i]` of gaps about (i + 1) buckets
 * long, each spread evenly over the bucket around that length, so any window, not only one that holds a
 * whole number of buckets, sees its share; the last count holds gaps of at least that many buckets, which
 * never end within the range (censored).
 */
export class BucketedGaps extends GapSample {
  readonly #bucketMs: number;
  /** survival at (j + 0.5) buckets, j = 0..n; integral at the same points. */
  readonly #s: Float64Array;
  readonly #i: Float64Array;
  readonly total: number;
  readonly sum: number;

  constructor(weights: readonly number[], bucketMs: number) {
    super();
    this.#bucketMs = bucketMs;
    const n = weights.length;
    this.#s = new Float64Array(n + 1);
    this.#i = new Float64Array(n + 1);
    let total = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      total += weights[i]!;
      sum += weights[i]! * (i + 1) * bucketMs;
    }
    this.total = total;
    this.sum = sum;
    // Gaps of bin i (i < n - 1) end evenly in [(i + 0.5), (i + 1.5)) buckets.
    let left = total;
    for (let j = 0; j <= n; j++) {
      this.#s[j] = left;
      if (j < n - 1) left -= weights[j]!;
    }
    // S is flat on [0, 0.5) and linear between the points after: I by the trapezoid rule.
    this.#i[0] = total * 0.5 * bucketMs;
    for (let j = 1; j <= n; j++)
      this.#i[j] = this.#i[j - 1]! + ((this.#s[j - 1]! + this.#s[j]!) / 2) * bucketMs;
  }

  survival(t: number): number {
    const u = t / this.#bucketMs - 0.5;
    if (u <= 0) return this.#s[0]!;
    const j = Math.floor(u);
    if (j >= this.#s.length - 1) return this.#s[this.#s.length - 1]!;
    const f = u - j;
    return this.#s[j]! + (this.#s[j + 1]! - this.#s[j]!) * f;
  }

  integral(t: number): number {
    const b = this.#bucketMs;
    const u = t / b - 0.5;
    if (u <= 0) return this.#s[0]! * t;
    const last = this.#s.length - 1;
    if (u >= last) return this.#i[last]! + this.#s[last]! * (u - last) * b;
    const j = Math.floor(u);
    const f = u - j;
    const sAt = this.#s[j]! + (this.#s[j + 1]! - this.#s[j]!) * f;
    return this.#i[j]! + ((this.#s[j]! + sAt) / 2) * f * b;
  }
}
