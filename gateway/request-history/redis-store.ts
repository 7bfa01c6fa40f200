import { randomBytes } from 'node:crypto';
import { redisReady } from '../redis/ready.ts';
import { Redis } from 'ioredis';
import { type Clock, systemClock, unrefTimer } from '../../runtime/time/clock.ts';
import { COUNTER_FIELDS } from './counters.ts';
import { type FlushFence, sendFlush, settleFlush, withFlushCommand, type WithFlush } from './flush-script.ts';
import { bucketKey, flushFenceKey } from './keys.ts';
import { checkResolutions, chooseResolution } from './resolutions.ts';
import { planSeries } from './series.ts';
import type { Bucket, Counters, HistoryStore, RequestEnd, Resolution } from './types.ts';
import { WriteBuffer, type KeyWrite } from './write-buffer.ts';

/** Flushes start at least this far apart, so a gateway sends at most one history command per 10 ms. */
export const MIN_FLUSH_SPACING_MS = 10;

interface RedisHistoryCommon {
  resolutions?: readonly Resolution[];
  /** Default systemClock. */
  clock?: Clock;
  /** How often buffered records are written: 0 turns the timer off, else >= 10 ms. Default 250 ms. */
  flushIntervalMs?: number;
  /** Records held (a request makes two: its arrival, its end) before the oldest go. Default 100_000. */
  maxBuffered?: number;
  /**
   * Keys (bucket hashes, arrival pages) whose counts may wait for Redis, e.g. through an outage; past it
   * the key that expires first is dropped with its counts (README.md, "Redis away"). Default 20_000.
   */
  maxUnsentKeys?: number;
  /** Buffered records that start a flush before the timer does. Default min(10_000, maxBuffered). */
  flushAtBuffered?: number;
  /** Default 'wg:hist:'; see README.md for the keys under it. */
  keyPrefix?: string;
  /** How long flush/series wait for a connection that is not ready. Default 1000 ms. */
  readyTimeoutMs?: number;
}

/** From a URL (the store owns the client and quits it on close) or from a client the caller owns. */
export type RedisHistoryOptions = RedisHistoryCommon &
  ({ url: string; client?: undefined } | { client: Redis; url?: undefined });

const noop = (): void => undefined;

/**
 * History in Redis hashes, one per (model, resolution, bucket), plus packed arrival pages (pages.ts),
 * all expired by Redis with PEXPIREAT. `recordArrival` and `recordEnd` only buffer; a timer and the
 * buffer's size trigger `flush`, which sends one command (flush-script.ts), at most one per
 * MIN_FLUSH_SPACING_MS.
 */
export class RedisHistoryStore implements HistoryStore {
  readonly #client: WithFlush;
  readonly #ownsClient: boolean;
  readonly #resolutions: readonly Resolution[];
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #flushAt: number;
  readonly #readyTimeoutMs: number;
  readonly #buffer: WriteBuffer;
  readonly #timer: unknown;
  /** This store's fence (flush-script.ts): its key, the last flush's sequence number, how long it is kept. */
  readonly #fence: FlushFence;
  /** The writes of the last flush if its reply was lost (the buffer holds them too, until settled). */
  #lostReply: readonly KeyWrite[] | null = null;
  #lastSentAt = -Infinity;
  #tail: Promise<void> = Promise.resolve();
  #queuedFlushes = 0;
  #failedFlushes = 0;
  #closed = false;

  constructor(options: RedisHistoryOptions) {
    this.#resolutions = checkResolutions(options.resolutions);
    this.#clock = options.clock ?? systemClock;
    this.#prefix = options.keyPrefix ?? 'wg:hist:';
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 1000;
    const maxBuffered = options.maxBuffered ?? 100_000;
    this.#flushAt = options.flushAtBuffered ?? Math.min(10_000, maxBuffered);
    const every = options.flushIntervalMs ?? 250;
    if (!(every === 0 || (Number.isFinite(every) && every >= MIN_FLUSH_SPACING_MS)))
      throw new RangeError(
        `history flushIntervalMs must be 0 (off) or >= ${MIN_FLUSH_SPACING_MS}, got ${every}`,
      );
    this.#buffer = new WriteBuffer(maxBuffered, this.#resolutions, this.#prefix, options.maxUnsentKeys);
    this.#fence = {
      key: flushFenceKey(this.#prefix, randomBytes(8).toString('hex')),
      seq: 0,
      ttlMs: Math.max(...this.#resolutions.map((r) => r.retentionMs)),
    };
    if (options.client !== undefined) {
      this.#client = withFlushCommand(options.client);
      this.#ownsClient = false;
    } else {
      // Fail fast while disconnected: a flush that cannot be sent is kept and retried by the next one.
      const client = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      client.on('error', noop); // surfaced through flush/series; the event would only be noise
      this.#client = withFlushCommand(client);
      this.#ownsClient = true;
    }
    this.#timer = every > 0 ? unrefTimer(this.#clock.setInterval(() => this.#kick(), every)) : undefined;
  }

  /** Records dropped because the buffer was full (or recorded after close). */
  get droppedRecords(): number {
    return this.#buffer.dropped;
  }

  /** Keys dropped with their counts because more than maxUnsentKeys waited for Redis. */
  get droppedKeys(): number {
    return this.#buffer.droppedKeys;
  }

  /** Arrivals counted in the bucket hashes dropped that way (each resolution counts them once). */
  get droppedArrivals(): number {
    return this.#buffer.droppedArrivals;
  }

  /** Records not yet aggregated into writes. */
  get bufferedRecords(): number {
    return this.#buffer.size;
  }

  /** Keys (bucket hashes and arrival pages) with counts not in Redis yet (kept across failed flushes). */
  get unsentKeys(): number {
    return this.#buffer.unsentKeys;
  }

  /** Flushes that failed (Redis unreachable); their counts were kept for the next one. */
  get failedFlushes(): number {
    return this.#failedFlushes;
  }

  recordArrival(model: string, at: number): void {
    if (this.#closed) return this.#buffer.drop();
    this.#buffer.pushArrival(model, at);
    if (this.#buffer.size >= this.#flushAt) this.#kick();
  }

  recordEnd(r: RequestEnd): void {
    if (this.#closed) return this.#buffer.drop();
    this.#buffer.pushEnd(r);
    if (this.#buffer.size >= this.#flushAt) this.#kick();
  }

  /**
   * Flushes run one at a time, each starting MIN_FLUSH_SPACING_MS after the previous one sent; a call
   * made during one runs after it, so it covers every earlier record.
   */
  flush(): Promise<void> {
    this.#queuedFlushes += 1;
    const run = this.#tail.then(() => this.#flushOnce());
    this.#tail = run.then(noop, noop).then(() => {
      this.#queuedFlushes -= 1;
    });
    return run;
  }

  async series(model: string, fromMs: number, toMs: number, bucketMs: number): Promise<Bucket[]> {
    const res = chooseResolution(this.#resolutions, fromMs, bucketMs, this.#clock.now());
    const plan = planSeries(fromMs, toMs, bucketMs, res.bucketMs);
    if (plan.fineStarts.length === 0) return plan.buckets;
    await redisReady(this.#client, 'history', this.#readyTimeoutMs);
    const p = this.#client.pipeline();
    for (const s of plan.fineStarts) p.hgetall(bucketKey(this.#prefix, model, res.bucketMs, s));
    const results = (await p.exec()) ?? [];
    for (const [i, [err, hash]] of results.entries()) {
      if (err) throw err;
      plan.add(plan.fineStarts[i]!, parseCounters(hash as Record<string, string>));
    }
    return plan.buckets;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearInterval(this.#timer);
    try {
      // A shutdown just after an outage: the connection may still be coming back, so give it a few
      // chances (each waits up to readyTimeoutMs) before the buffered counts are given up.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.flush();
          break;
        } catch (e) {
          if (attempt >= 3) throw e;
        }
      }
    } finally {
      if (this.#ownsClient) {
        if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect());
        else this.#client.disconnect();
      }
    }
  }

  /** A background flush, unless one is already queued; its failure is counted, never thrown. */
  #kick(): void {
    if (this.#queuedFlushes === 0) this.flush().catch(noop);
  }

  async #flushOnce(): Promise<void> {
    const clock = this.#clock;
    const wait = this.#lastSentAt + MIN_FLUSH_SPACING_MS - clock.monotonic();
    // Records keep arriving meanwhile and join this flush.
    if (wait > 0) await new Promise<void>((r) => clock.setTimeout(r, wait));
    const buffer = this.#buffer;
    buffer.aggregate();
    if (this.#lostReply !== null) {
      // The last flush's reply was lost: learn whether it ran before anything else is sent, so its counts
      // are written once (flush-script.ts, the fence).
      try {
        await redisReady(this.#client, 'history', this.#readyTimeoutMs);
        const outcome = await settleFlush(this.#client, this.#fence, this.#lostReply);
        buffer.settle(outcome === null ? null : outcome.failed);
        this.#lostReply = null;
      } catch (e) {
        this.#failedFlushes += 1;
        throw e;
      }
    }
    const writes = buffer.take(clock.now());
    if (writes.length === 0) return;
    try {
      await redisReady(this.#client, 'history', this.#readyTimeoutMs);
    } catch (e) {
      buffer.retry(writes);
      this.#failedFlushes += 1;
      throw e;
    }
    this.#lastSentAt = clock.monotonic();
    this.#fence.seq += 1;
    let sent;
    try {
      sent = await sendFlush(this.#client, this.#fence, writes);
    } catch (e) {
      // Sent, but no reply: it may have run. Held until settled, never sent twice.
      buffer.retryUnknown(writes);
      this.#lostReply = writes;
      this.#failedFlushes += 1;
      throw e;
    }
    if (sent.error !== null) {
      buffer.retry(sent.failed);
      this.#failedFlushes += 1;
      throw sent.error;
    }
  }
}

function parseCounters(hash: Record<string, string>): Partial<Counters> {
  const c: Partial<Counters> = {};
  for (const f of COUNTER_FIELDS) if (hash[f] !== undefined) c[f] = Number(hash[f]);
  return c;
}
