/** Fewer first tokens than this in a report say too little of a p90 to act on. */
const MIN_SAMPLES = 5;

/** A bound learnt from a breach is forgotten after this long without another (the load may change). */
export const FORGET_BOUND_MS = 15 * 60_000;

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
 *
 * A value: observing returns the next one, and so does reading the estimate (it may forget the bound).
 */
export interface CapacityAtSlo {
  /** Requests per instance within the SLO, learnt from a breach; absent: the ceiling. */
  readonly bound?: number;
  /** When the SLO was last breached. */
  readonly breachAt: number;
}

export const UNBOUNDED: CapacityAtSlo = Object.freeze({ breachAt: 0 });

/** What one tick saw: `perInstance` requests in flight per ready instance, and their first tokens. */
export function observeFirstTokens(
  c: CapacityAtSlo,
  at: number,
  perInstance: number,
  firstToken: { count: number; p90Ms: number },
  sloMs: number,
): CapacityAtSlo {
  const { count, p90Ms } = firstToken;
  if (!(perInstance > 0) || !(count >= MIN_SAMPLES) || !Number.isFinite(p90Ms) || !(sloMs > 0)) return c;
  if (p90Ms > sloMs) {
    const bound = Math.max(1, (perInstance * sloMs) / p90Ms);
    return { bound: c.bound === undefined || bound < c.bound ? bound : c.bound, breachAt: at };
  }
  if (c.bound !== undefined && perInstance > c.bound) return { bound: perInstance, breachAt: c.breachAt };
  return c;
}

/** Concurrent requests per instance within the SLO at `at`, at most `ceiling`; `next` may have forgotten the bound. */
export function capacityAt(
  c: CapacityAtSlo,
  at: number,
  ceiling: number,
  forgetMs = FORGET_BOUND_MS,
): { readonly capacity: number; readonly next: CapacityAtSlo } {
  if (c.bound === undefined) return { capacity: ceiling, next: c };
  if (at - c.breachAt > forgetMs) return { capacity: ceiling, next: { breachAt: c.breachAt } };
  return { capacity: Math.min(ceiling, c.bound), next: c };
}
