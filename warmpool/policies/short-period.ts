import type { HistoryReader } from './demand-history.ts';

/**
 * Bursts that recur every few seconds to minutes (a client polling every 20 s, a job every 5 min),
 * found in the fine history: the onsets of bursts (an active fine bucket after empty ones) at a steady
 * distance. Minute buckets cannot see these: every minute of a 20 s period is active.
 */
export interface ShortPeriod {
  readonly periodMs: number;
  /** Start of the latest burst's first active fine bucket, epoch ms. */
  readonly lastOnsetMs: number;
  /** Longest of the earlier bursts, whole fine buckets, ms. */
  readonly burstMs: number;
  /** Most arrivals in one of the earlier bursts. */
  readonly burstArrivals: number;
  /** Largest distance of an onset gap from the period, ms. */
  readonly jitterMs: number;
}

const MIN_PERIOD_MS = 5_000;
const MAX_PERIOD_MS = 600_000;
/** The window read ends at the last arrival; it stays inside the fine ring (an hour) while not stale. */
const WINDOW_MS = 45 * 60_000;
const STALE_MS = 15 * 60_000;
/** Onset gaps needed (4 bursts) and used at most. */
const MIN_GAPS = 3;
const MAX_GAPS = 8;
/** Active buckets separated by at most this many empty ones belong to one burst. */
const MERGE_EMPTY = 1;
/** More active buckets than this before enough bursts: a stream, not bursts (bounds the scan). */
const MAX_ACTIVE = 150;
/** Arrivals in the last two minutes above which no short-period scan is made (a dense stream). */
const DENSE_PER_2MIN = 240;
const CHUNK = 64;

/**
 * The short period of `history` at `now`, or undefined when there is none (too few bursts, irregular
 * gaps, a dense stream, or no arrival for 15 minutes). Cached per fine bucket of the last arrival, since
 * only a new active bucket changes it: O(window scan) once per active second of sparse deployments,
 * O(1) otherwise.
 */
export function shortPeriodFor(history: HistoryReader, now: number): ShortPeriod | undefined {
  const last = history.lastArrivalAt;
  if (last === undefined || now - last > STALE_MS) return undefined;
  const coarse = history.coarseMs;
  const minute = Math.floor(now / coarse) * coarse;
  const recent = history.series(minute - coarse, minute + coarse, coarse);
  if (recent[0]! + recent[1]! > DENSE_PER_2MIN) return undefined;
  const fine = history.fineMs;
  const anchor = Math.floor(last / fine) * fine;
  return history.memo('predictive:short-period', anchor, fine, () => detect(history, anchor / fine));
}

/** Scans back from bucket `end` (the last arrival's, still open) for burst onsets. */
function detect(history: HistoryReader, end: number): ShortPeriod | undefined {
  const fine = history.fineMs;
  const first = end - Math.floor(WINDOW_MS / fine) + 1;
  const onsets: number[] = [];
  const lengths: number[] = [];
  const counts: number[] = [];
  let active = 0;
  let inBurst = false;
  let runEnd = 0;
  let runStart = 0;
  let runCount = 0;
  let empties = 0;
  scan: for (let hi = end + 1; hi > first; hi -= CHUNK) {
    const lo = Math.max(first, hi - CHUNK);
    const s = history.series(lo * fine, hi * fine, fine);
    for (let i = s.length - 1; i >= 0; i--) {
      const v = s[i]!;
      if (v > 0) {
        if (!inBurst) [inBurst, runEnd, runCount] = [true, lo + i, 0];
        runStart = lo + i;
        runCount += v;
        empties = 0;
        if (++active > MAX_ACTIVE) return undefined;
      } else if (inBurst && ++empties > MERGE_EMPTY) {
        onsets.push(runStart);
        lengths.push(runEnd - runStart + 1);
        counts.push(runCount);
        inBurst = false;
        if (onsets.length > MAX_GAPS) break scan;
      }
    }
  }
  // A burst still open at the window's start has no known onset: left out.
  if (onsets.length < MIN_GAPS + 1) return undefined;
  const gaps = onsets.slice(1).map((o, i) => onsets[i]! - o);
  // Onsets are whole buckets, so each gap is off its true length by up to a bucket either way: a timer
  // every 10 s whose calls come a few ms early or late reads 11, 9, 11, 10, ... The mean gap (the span
  // over the count) is off by under a bucket over all of them, and is the period; a gap may then stray
  // from it by the bucket's rounding plus 5% (the timer's own jitter). A median would land on 9 or 11
  // there, and a 1-bucket tolerance around it refuse the timer until enough gaps balance it out.
  const period = (onsets[0]! - onsets.at(-1)!) / gaps.length;
  if (period * fine < MIN_PERIOD_MS || period * fine > MAX_PERIOD_MS) return undefined;
  const tolerance = 1 + 0.05 * period;
  let jitter = 0;
  for (const g of gaps) jitter = Math.max(jitter, Math.abs(g - period));
  if (jitter > tolerance) return undefined;
  // The latest burst may still be going on: its length and count are not known yet.
  return {
    periodMs: Math.round(period * fine),
    lastOnsetMs: onsets[0]! * fine,
    burstMs: Math.max(...lengths.slice(1)) * fine,
    burstArrivals: Math.max(...counts.slice(1)),
    jitterMs: Math.round(jitter * fine),
  };
}
