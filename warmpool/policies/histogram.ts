import type { HistoryReader } from './demand-history.ts';
import type { Policy, PolicyInput } from './types.ts';
import { clampInstances, instancesFor } from './capacity.ts';

const DEFAULTS = {
  headPercentile: 5,
  tailPercentile: 99,
  /** Pre-warm 10% earlier and keep alive 10% longer than the percentiles say. */
  margin: 0.1,
  /** Below this many idle times the histogram says nothing yet: standard keep-alive. */
  minSamples: 10,
  /** Bin counts more uniform than this (coefficient of variation) carry no pattern. */
  cvThreshold: 2,
  /** Above this fraction of idle times beyond the range, forecast the next idle time instead. */
  oobFraction: 0.5,
  /** The out-of-range forecast pre-warms at 85% of the forecast idle time and keeps 2 x 15% of it. */
  forecastMargin: 0.15,
} as const;

const KNOBS = Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[];

/** Windows after an arrival, ms: unloaded for `prewarmMs`, then loaded for `keepAliveMs`. */
interface Windows {
  readonly prewarmMs: number;
  readonly keepAliveMs: number;
  readonly why: string;
}

/**
 * The hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020). Each
 * deployment's idle times (minute bins, 4 h range, from the history) give a pre-warming window (head
 * percentile) and a keep-alive window (tail minus head), each widened by a margin. Fallbacks as in the
 * paper: too few idle times or a flat histogram (low CV) → standard keep-alive for the whole range;
 * too many idle times beyond the range → a forecast of the next idle time (the paper fits ARIMA; here
 * an exponentially weighted mean of the recent idle times, simpler and cached hourly).
 * After the last arrival the deployment is unloaded until the pre-warming window has elapsed (less one
 * cold start, so the instance is ready when the window ends), then kept at ≥ 1 until the keep-alive
 * window ends; capacity for the requests in flight is always kept. Knob: tailPercentile.
 */
export const histogram: Policy = {
  name: 'histogram',
  knob: { name: 'tailPercentile', values: [75, 90, 95, 99, 99.9] },
  decide({ config, history, pool, now }: PolicyInput) {
    const k = { ...DEFAULTS, ...config.knobs };
    const needed = instancesFor(pool.inFlight + pool.queued, config);
    const last = history.lastArrivalAt;
    if (last === undefined) {
      return { desired: clampInstances(needed, config), reason: 'histogram: no arrival yet' };
    }
    // Windows change only when a bucket closes: cached per bucket, keyed by every setting they use.
    const key = `histogram:${KNOBS.map((n) => k[n]).join(':')}`;
    const bucketStart = Math.floor(now / history.coarseMs) * history.coarseMs;
    const w = history.memo(key, bucketStart, history.coarseMs, () => windows(history, k));
    const since = now - last;
    const loadAt = w.prewarmMs === 0 ? 0 : Math.max(0, w.prewarmMs - config.coldStartMs);
    const loaded = since >= loadAt && since < w.prewarmMs + w.keepAliveMs;
    const desired = clampInstances(Math.max(needed, loaded ? 1 : 0), config);
    const state = loaded ? 'loaded' : since < loadAt ? 'pre-warming wait' : 'keep-alive over';
    return {
      desired,
      reason: `histogram (${w.why}): prewarm ${w.prewarmMs} ms, keep-alive ${w.keepAliveMs} ms, last arrival ${since} ms ago, ${state}; ${desired}`,
    };
  },
};

function windows(history: HistoryReader, k: Record<keyof typeof DEFAULTS, number>): Windows {
  const bins = history.idleHistogram();
  const binMs = history.coarseMs;
  const range = bins.length - 1; // the last bin holds everything at or beyond the range
  const rangeMs = range * binMs;
  let n = 0;
  for (const c of bins) n += c;
  if (n < k.minSamples)
    return { prewarmMs: 0, keepAliveMs: rangeMs, why: `${n} idle times, standard keep-alive` };
  const oob = bins[range]! / n;
  if (oob > k.oobFraction) {
    const it = forecastIdleMs(history);
    return {
      prewarmMs: Math.round(it * (1 - k.forecastMargin)),
      keepAliveMs: Math.round(it * 2 * k.forecastMargin),
      why: `${Math.round(oob * 100)}% out of range, forecast idle ${Math.round(it / 1000)} s`,
    };
  }
  // CV of the in-range bin counts: a histogram whose counts are spread evenly has no usable head/tail.
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < range; i++) {
    sum += bins[i]!;
    sq += bins[i]! * bins[i]!;
  }
  const mean = sum / range;
  const cv = mean === 0 ? 0 : Math.sqrt(Math.max(0, sq / range - mean * mean)) / mean;
  if (cv < k.cvThreshold)
    return {
      prewarmMs: 0,
      keepAliveMs: rangeMs,
      why: `CV ${cv.toFixed(2)} < ${k.cvThreshold}, standard keep-alive`,
    };
  const head = percentileBin(bins, n, k.headPercentile);
  const tail = percentileBin(bins, n, k.tailPercentile);
  // Bin i is an idle time of i to i+1 minutes: pre-warm from the head bin's start, keep to the tail bin's end.
  const prewarmMs = Math.floor(head * binMs * (1 - k.margin));
  const keepAliveMs = Math.round(((tail + 1) * binMs - prewarmMs) * (1 + k.margin));
  return {
    prewarmMs,
    keepAliveMs,
    why: `p${k.headPercentile} bin ${head}, p${k.tailPercentile} bin ${tail}`,
  };
}

/** Smallest bin at or below which `p`% of the idle times fall. */
function percentileBin(bins: readonly number[], n: number, p: number): number {
  const want = (p / 100) * n;
  let acc = 0;
  for (let i = 0; i < bins.length; i++) {
    acc += bins[i]!;
    if (acc >= want - 1e-9 && acc > 0) return i;
  }
  return bins.length - 1;
}

/**
 * Next idle time, ms: an exponentially weighted mean of the idle times in the coarse history (in
 * place of the paper's ARIMA; out-of-range idle times are few per day, so a short memory suffices).
 */
function forecastIdleMs(history: HistoryReader): number {
  const last = history.lastArrivalAt!;
  const first = history.firstArrivalAt ?? last;
  const binMs = history.coarseMs;
  const s = history.series(Math.floor(first / binMs) * binMs, last + 1, binMs);
  let prev = -1;
  let ewma = -1;
  for (let i = 0; i < s.length; i++) {
    if (s[i]! <= 0) continue;
    if (prev >= 0) {
      const gap = (i - prev - 1) * binMs;
      ewma = ewma < 0 ? gap : 0.5 * gap + 0.5 * ewma;
    }
    prev = i;
  }
  return ewma < 0 ? (history.idleHistogram().length - 1) * binMs : ewma;
}
