import { Redis, ReplyError } from 'ioredis';
import { PAGE_SLOT_BYTES, pageReads, type PageRead } from '../../gateway/request-history/index.ts';
import type { HistoryReader } from '../policies/index.ts';
import { Followed, type SegmentCounts } from './followed.ts';
import { redisReady } from '../../gateway/redis/ready.ts';
import type { DemandFeed, DemandFeedOptions, FeedFailure, FeedTarget, FeedUpdate } from './types.ts';
import { type Sourced, uniqueTargets } from './feed-targets.ts';

interface RedisFeedCommon extends DemandFeedOptions {
  /** The history store's key prefix. Default 'wg:hist:'. */
  readonly keyPrefix?: string;
  /** How long an update waits for a connection that is not ready. Default 1000 ms. */
  readonly readyTimeoutMs?: number;
}

/** From a URL (the feed owns the client and quits it on close) or from a client the caller owns. */
export type RedisDemandFeedOptions = RedisFeedCommon &
  ({ url: string; client?: undefined } | { client: Redis; url?: undefined });

const noop = (): void => undefined;

/**
 * Reads the arrival pages the gateways' RedisHistoryStore writes (gateway/request-history/pages.ts): each update
 * is one pipeline of GETRANGEs, one per page touched (usually one per deployment: the new seconds of the
 * current hour page; a deployment seen first reads its day pages and the last hour pages).
 */
export class RedisDemandFeed implements DemandFeed {
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #readyTimeoutMs: number;
  readonly #followed: Followed;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: RedisDemandFeedOptions) {
    this.#followed = new Followed(options);
    this.#prefix = options.keyPrefix ?? 'wg:hist:';
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 1000;
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      this.#client = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      this.#client.on('error', noop); // reported through update()
      this.#ownsClient = true;
    }
  }

  /** Updates run one at a time, so two never read the same buckets. */
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
    if (!this.#ownsClient) return;
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect());
    else this.#client.disconnect();
  }

  async #update(followed: readonly Sourced[], now: number): Promise<FeedUpdate> {
    const to = this.#followed.settledAt(now);
    const plans = followed.map((f) => this.#followed.plan(f.name, to, f.sources));
    // Per plan, per source, per segment: the page reads that cover it.
    const reads = plans.map((p) =>
      p.sources.map((source) =>
        p.segments.map((s) => pageReads(this.#prefix, source, s.bucketMs, s.from, s.to)),
      ),
    );
    let results: [Error | null, unknown][] = [];
    if (reads.some((r) => r.some((source) => source.length > 0))) {
      try {
        await redisReady(this.#client, 'demand feed', this.#readyTimeoutMs);
        const pipe = this.#client.pipeline();
        for (const r of reads.flat(3)) pipe.getrangeBuffer(r.key, r.firstByte, r.lastByte);
        results = (await pipe.exec()) ?? [];
        // A reply error concerns one key; any other (stream not writable, connection closed) the trip.
        const lost = results.find(([err]) => err && !(err instanceof (ReplyError as ErrorConstructor)));
        if (lost) throw lost[0];
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
      }
    }
    const failed: FeedFailure[] = [];
    let next = 0;
    let backfilled = 0;
    for (const [i, p] of plans.entries()) {
      const counts: SegmentCounts[][] = [];
      let error: Error | null = null;
      for (const source of reads[i]!) {
        const c = decodeAll(source, results, next);
        next += source.reduce((n, r) => n + r.length, 0);
        if (c instanceof Error) error ??= c;
        else counts.push(c);
      }
      if (error !== null) {
        failed.push({ deployment: p.deployment, error });
        continue;
      }
      this.#followed.apply(p, counts, to);
      if (p.isNew) backfilled += 1;
    }
    return { ok: true, readThrough: to, updated: plans.length - failed.length, backfilled, failed };
  }
}

/** One plan's counts per segment from the pipeline's results starting at `at`, or the first error. */
function decodeAll(
  segments: readonly (readonly PageRead[])[],
  results: readonly [Error | null, unknown][],
  at: number,
): SegmentCounts[] | Error {
  const out: SegmentCounts[] = [];
  for (const reads of segments) {
    const pages: [PageRead, Buffer, number][] = []; // read, bytes, index of its first bucket
    let offset = 0;
    for (const r of reads) {
      const result = results[at++];
      if (result === undefined) return new Error('demand feed: a pipeline reply is missing');
      const [err, bytes] = result;
      if (err) return err;
      pages.push([r, bytes as Buffer, offset]);
      offset += r.count;
    }
    // A page shorter than the range read (or missing) holds zeros past its end: nothing to visit.
    out.push((visit) => {
      for (const [r, bytes, first] of pages) {
        const n = Math.min(r.count, Math.floor(bytes.length / PAGE_SLOT_BYTES));
        for (let i = 0; i < n; i++) {
          const c = bytes.readUInt32BE(i * PAGE_SLOT_BYTES);
          if (c !== 0) visit(first + i, c);
        }
      }
    });
  }
  return out;
}
