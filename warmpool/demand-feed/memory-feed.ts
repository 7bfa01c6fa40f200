import type { HistoryStore } from '../../gateway/request-history/index.ts';
import type { HistoryReader } from '../policies/index.ts';
import { Followed, type SegmentCounts } from './followed.ts';
import type { DemandFeed, DemandFeedOptions, FeedTarget, FeedUpdate } from './types.ts';
import { type Sourced, uniqueTargets } from './feed-targets.ts';

export interface MemoryDemandFeedOptions extends DemandFeedOptions {
  /** The store the gateway records into (a MemoryHistoryStore in one process). */
  readonly store: HistoryStore;
}

const noop = (): void => undefined;

/**
 * The feed for an in-process history: reads `store.series` (one call per segment, so meant for the
 * memory store; with Redis, RedisDemandFeed reads the packed pages in one round trip). Everything is
 * read before anything is applied, so a failed read leaves every history as it was.
 */
export class MemoryDemandFeed implements DemandFeed {
  readonly #store: HistoryStore;
  readonly #followed: Followed;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: MemoryDemandFeedOptions) {
    this.#store = options.store;
    this.#followed = new Followed(options);
  }

  update(deployments: Iterable<FeedTarget>, now: number): Promise<FeedUpdate> {
    const followed = uniqueTargets(deployments);
    const run = this.#tail.then(() => this.#update(followed, now));
    this.#tail = run.catch(noop);
    return run;
  }

  history(deployment: string): HistoryReader | undefined {
    return this.#followed.history(deployment);
  }

  forget(deployment: string): void {
    this.#followed.forget(deployment);
  }

  async close(): Promise<void> {
    this.#followed.clear();
  }

  async #update(followed: readonly Sourced[], now: number): Promise<FeedUpdate> {
    const to = this.#followed.settledAt(now);
    const plans = followed.map((f) => this.#followed.plan(f.name, to, f.sources));
    let counts: SegmentCounts[][][];
    try {
      counts = await Promise.all(
        plans.map((p) =>
          Promise.all(
            p.sources.map((source) =>
              Promise.all(
                p.segments.map(async (s): Promise<SegmentCounts> => {
                  const buckets = await this.#store.series(source, s.from, s.to, s.bucketMs);
                  return (visit) => buckets.forEach((b, j) => visit(j, b.arrivals));
                }),
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
    }
    for (const [i, p] of plans.entries()) this.#followed.apply(p, counts[i]!, to);
    const backfilled = plans.filter((p) => p.isNew).length;
    return { ok: true, readThrough: to, updated: plans.length, backfilled, failed: [] };
  }
}
