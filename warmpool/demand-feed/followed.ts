import { DemandHistory, type HistoryReader } from '../policies/index.ts';
import { backfillFrom, COARSE_MS, FINE_MS, planCatchUp, settledAt, type Segment } from './plan.ts';
import type { DemandFeedOptions } from './types.ts';

/** What to read for one history, planned from its state at `from`. */
export interface Pending {
  readonly deployment: string;
  /** The request-history series it sums (the deployment itself, or a base and its adapters). */
  readonly sources: readonly string[];
  readonly isNew: boolean;
  readonly from: number;
  readonly segments: readonly Segment[];
}

/** A segment's non-zero counts, visited in time order (index = bucket number within the segment). */
export type SegmentCounts = (visit: (index: number, count: number) => void) => void;

interface Entry {
  readonly history: DemandHistory;
  readThrough: number;
}

function checkMs(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min)
    throw new RangeError(`demand feed: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/**
 * The feed's state, with no I/O: one history per deployment and how far it has been read. A feed asks
 * it what to read (`plan`), reads everything, then hands the counts back (`apply`).
 */
export class Followed {
  readonly #settleMs: number;
  readonly #fineKeepMs: number;
  readonly #coarseKeepMs: number;
  readonly #idleRangeBuckets: number | undefined;
  readonly #entries = new Map<string, Entry>();

  constructor(o: DemandFeedOptions = {}) {
    this.#settleMs = checkMs('settleMs', o.settleMs ?? 1000, 0);
    this.#fineKeepMs = checkMs('fineKeepMs', o.fineKeepMs ?? 3_600_000, FINE_MS);
    this.#coarseKeepMs = checkMs('coarseKeepMs', o.coarseKeepMs ?? 14 * 86_400_000, COARSE_MS);
    this.#idleRangeBuckets = o.idleRangeBuckets;
  }

  settledAt(now: number): number {
    return settledAt(now, this.#settleMs);
  }

  plan(deployment: string, to: number, sources: readonly string[] = [deployment]): Pending {
    const e = this.#entries.get(deployment);
    const from = e?.readThrough ?? backfillFrom(to, this.#coarseKeepMs);
    const segments = planCatchUp(from, to, this.#fineKeepMs);
    return { deployment, sources, isNew: e === undefined, from, segments };
  }

  /**
   * Adds what was read for `p` (counts[k][i]: source k's segment i) and moves its history to `to`. A
   * plan that no longer matches the state (the deployment was forgotten or updated meanwhile) is let go.
   */
  apply(p: Pending, counts: readonly (readonly SegmentCounts[])[], to: number): void {
    let e = this.#entries.get(p.deployment);
    if (e === undefined ? !p.isNew : e.readThrough !== p.from) return;
    if (e === undefined) {
      const history = new DemandHistory({
        fineMs: FINE_MS,
        coarseMs: COARSE_MS,
        fineKeepMs: this.#fineKeepMs,
        coarseKeepMs: this.#coarseKeepMs,
        ...(this.#idleRangeBuckets === undefined ? {} : { idleRangeBuckets: this.#idleRangeBuckets }),
      });
      this.#entries.set(p.deployment, (e = { history, readThrough: p.from }));
    }
    const h = e.history;
    for (const [i, seg] of p.segments.entries()) {
      if (counts.length === 1) {
        counts[0]![i]!((j, n) => {
          if (n > 0) h.add(seg.from + j * seg.bucketMs, n);
        });
        continue;
      }
      // Several sources: summed per bucket first, since a history takes its arrivals in time order.
      const sum = new Float64Array(Math.ceil((seg.to - seg.from) / seg.bucketMs));
      for (const source of counts)
        source[i]!((j, n) => {
          sum[j]! += n;
        });
      for (let j = 0; j < sum.length; j++) if (sum[j]! > 0) h.add(seg.from + j * seg.bucketMs, sum[j]!);
    }
    e.history.advance(to);
    e.readThrough = to;
  }

  history(deployment: string): HistoryReader | undefined {
    return this.#entries.get(deployment)?.history;
  }

  forget(deployment: string): void {
    this.#entries.delete(deployment);
  }

  clear(): void {
    this.#entries.clear();
  }
}
