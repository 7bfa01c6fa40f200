import type { HistoryReader } from './demand-history.ts';
import type { PolicyConfig, PoolState } from './types.ts';

/** The requests in flight a start's reach from now, as a distribution. */
export interface DemandAhead {
  /** Expected requests in flight then. */
  readonly mean: number;
  /** P(at least n requests in flight then). */
  pAtLeast(n: number): number;
}

const SHORT_RATE_MS = 10_000;
const LONG_RATE_MS = 60_000;
/** Overdispersion is read from arrivals per SHORT_RATE_MS window over this long. */
const DISPERSION_SPAN_MS = 600_000;

/**
 * Requests in flight `reachMs` from now: those in flight now still running then (exponential service
 * times of the deployment's mean), plus the arrivals until then still running (Little's law over the
 * horizon) at the current rate; a normal approximation whose variance is the arrivals' own (their index
 * of dispersion over the last ten minutes: bursty traffic varies more than Poisson), so a steady
 * stream and a bursty one of the same rate get different headroom.
 */
export function demandAhead(
  history: HistoryReader,
  pool: PoolState,
  config: PolicyConfig,
  reachMs: number,
  now: number,
): DemandAhead {
  const running = pool.inFlight + pool.queued;
  const last = history.lastArrivalAt;
  const recent = last !== undefined && now - last < LONG_RATE_MS;
  // A window reaching back before the deployment's first arrival holds no arrivals for that part: the
  // rate is over the part it has seen (at least a tick), or a new deployment's first burst reads as a
  // tenth of itself and its instances trickle up one cold start at a time.
  const seen = now - (history.firstArrivalAt ?? now);
  const rateOver = (ms: number) =>
    history.arrivals(now - ms, now) / Math.max(config.tickMs, Math.min(ms, seen));
  const rate = recent ? Math.max(rateOver(SHORT_RATE_MS), rateOver(LONG_RATE_MS)) : 0;
  const s = Math.max(config.serviceMs, 1);
  const stay = Math.exp(-reachMs / s);
  const arriving = rate * s * (1 - Math.exp(-reachMs / s));
  const dispersion = recent ? dispersionOf(history, now) : 1;
  const mean = running * stay + arriving;
  const sd = Math.sqrt(running * stay * (1 - stay) + dispersion * arriving);
  return {
    mean,
    pAtLeast(n) {
      if (sd === 0) return mean >= n - 0.5 ? 1 : 0;
      return upperTail((n - 0.5 - mean) / sd);
    },
  };
}

/** Variance over mean of arrivals per 10 s over the last ten minutes (at least 1), cached for 10 s. */
function dispersionOf(history: HistoryReader, now: number): number {
  const at = Math.floor(now / SHORT_RATE_MS) * SHORT_RATE_MS;
  return history.memo('costaware:dispersion', at, SHORT_RATE_MS, () => {
    const n = DISPERSION_SPAN_MS / SHORT_RATE_MS;
    const fine = history.series(at - DISPERSION_SPAN_MS, at, history.fineMs);
    const per = fine.length / n;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      let c = 0;
      for (let j = i * per; j < (i + 1) * per; j++) c += fine[j]!;
      sum += c;
      sq += c * c;
    }
    const mean = sum / n;
    return mean === 0 ? 1 : Math.max(1, (sq / n - mean * mean) / mean);
  });
}

/** P(Z ≥ z) for a standard normal (Abramowitz and Stegun 26.2.17, error below 1e-7). */
function upperTail(z: number): number {
  if (z < 0) return 1 - upperTail(-z);
  const t = 1 / (1 + 0.2316419 * z);
  const poly =
    t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * poly;
}
