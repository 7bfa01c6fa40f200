import type { HistoryReader } from '../policies/index.ts';

export interface DemandFeedOptions {
  /**
   * How long after a 1 s bucket closes it is read: gateways count an arrival as the request comes (not
   * when it ends) and flush every 250 ms by default, so a bucket read sooner could still grow. Histories
   * run this far behind `now`. Default 1000 ms.
   */
  readonly settleMs?: number;
  /** Fine (1 s) history kept per deployment; at most the history store's 1 s retention. Default 1 h. */
  readonly fineKeepMs?: number;
  /** Coarse (1 min) history kept and backfilled; at most the store's 1 min retention. Default 14 days. */
  readonly coarseKeepMs?: number;
  /** Passed to each DemandHistory. */
  readonly idleRangeBuckets?: number;
}

export interface FeedFailure {
  readonly deployment: string;
  readonly error: Error;
}

/** What one update did. Trouble reaching the backend is a value: the histories are kept as they were. */
export type FeedUpdate =
  | {
      readonly ok: true;
      /** Every updated history now holds all arrivals before this instant (a multiple of 1 s). */
      readonly readThrough: number;
      readonly updated: number;
      /** Deployments seen for the first time, whose 14 days were read. */
      readonly backfilled: number;
      /** Deployments whose reads failed (e.g. a key of the wrong type); retried next update. */
      readonly failed: readonly FeedFailure[];
    }
  | { readonly ok: false; readonly error: Error };

/**
 * A history the feed keeps: a deployment's own arrivals (a name), or the sum of several deployments'
 * (a base model's pool serves its own requests and its adapters': `sources` lists them all).
 */
export type FeedTarget = string | { readonly name: string; readonly sources: readonly string[] };

/** Keeps one arrival history per deployment up to date from the request history the gateways write. */
export interface DemandFeed {
  /**
   * Brings each named history up to `now - settleMs` (backfilling ones seen for the first time) with one
   * round trip to the backend. Never rejects for an unreachable backend; see FeedUpdate.
   */
  update(deployments: Iterable<FeedTarget>, now: number): Promise<FeedUpdate>;
  /** The deployment's history, once an update has read it. */
  history(deployment: string): HistoryReader | undefined;
  /** Stops following a deployment (its history is dropped). */
  forget(deployment: string): void;
  close(): Promise<void>;
}
