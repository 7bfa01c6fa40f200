import { Redis } from 'ioredis';
import { type Clock, systemClock, unrefTimer } from '../../runtime/time/clock.ts';
import { redisReady } from '../redis/ready.ts';
import type { VersionFigures } from './canary-verdict.ts';
import { addRequest, addSeconds, dropBefore, type Seconds, windowFigures } from './second-counts.ts';
import { fieldsOf, MINUTE_MS, minuteKey, minuteOf, parseMinute, totalsKey } from './version-stats-layout.ts';
import type { VersionStats, VersionTotals } from './version-stats.ts';

interface RedisVersionStatsCommon {
  /** Default systemClock: the flush timer's time. */
  clock?: Clock;
  /** How often this replica's counts are written: 0 turns the timer off. Default 500 ms. */
  flushIntervalMs?: number;
  /**
   * How long seconds are kept, here and in Redis: a window longer than this reads as the last keepMs.
   * Default 1 hour.
   */
  keepMs?: number;
  /** Default 'wg:vstats:' (version-stats-layout.ts). */
  keyPrefix?: string;
  /** How long a flush or read waits for a connection that is not ready. Default 1000 ms. */
  readyTimeoutMs?: number;
}

/** From a URL (closed with the stats) or from a client the caller owns. */
export type RedisVersionStatsOptions = RedisVersionStatsCommon &
  ({ url: string; client?: undefined } | { client: Redis; url?: undefined });

/** A minute read this long after its end is taken as complete (replicas flush every 500 ms) and kept. */
const SETTLE_MS = 5_000;
/** Totals of a pool no replica has counted for this long are let go by Redis. */
const TOTALS_TTL_MS = 30 * 24 * 3_600_000;

const zero = (): VersionTotals => ({ requests: 0, errors: 0 });
const noop = (): void => undefined;

/** One pool's counts, in layers: together they are the pool's figures without counting any twice. */
interface PoolCounts {
  /** Everything this replica counted (kept keepMs): the figures while Redis is away. */
  readonly own: Seconds;
  readonly ownTotals: VersionTotals;
  /** Counted here, not written yet. */
  unsent: Seconds;
  unsentTotals: VersionTotals;
  /** Written since this pool's last read, so not in it. */
  sent: Seconds;
  sentTotals: VersionTotals;
  /** Every replica's counts as the last reads found them, by minute; a settled minute is not read again. */
  readonly read: Map<number, { seconds: Seconds; settled: boolean }>;
  readTotals: VersionTotals;
}

/**
 * Version figures shared by the gateway replicas through Redis. Each replica counts its requests per
 * pool per second (requests, errors, a TTFT histogram, so a p90 merges) and adds them to Redis every
 * flushIntervalMs in one MULTI; `refresh` writes what is left, then reads the window's minutes. Figures
 * are the last read plus what this replica counted since. A failed flush keeps its counts for the next
 * one (a MULTI whose reply was lost may then be counted twice: rare, and a canary's window does not need
 * the request history's fence). While Redis is away, or until the first read, the figures are this
 * replica's own (`shared` false); requests are never refused for it.
 */
export class RedisVersionStats implements VersionStats {
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #clock: Clock;
  readonly #keepMs: number;
  readonly #prefix: string;
  readonly #readyTimeoutMs: number;
  readonly #timer: unknown;
  readonly #pools = new Map<string, PoolCounts>();
  #shared = false;
  #tail: Promise<void> = Promise.resolve();
  #flushQueued = false;
  #closed = false;

  constructor(options: RedisVersionStatsOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#keepMs = options.keepMs ?? 3_600_000;
    this.#prefix = options.keyPrefix ?? 'wg:vstats:';
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 1000;
    const every = options.flushIntervalMs ?? 500;
    if (!(every === 0 || (Number.isFinite(every) && every >= 10)))
      throw new RangeError(`version stats flushIntervalMs must be 0 (off) or >= 10, got ${every}`);
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      // Fail fast while disconnected: the counts stay here and go with the next flush.
      this.#client = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      this.#client.on('error', noop); // surfaced as `shared: false`
      this.#ownsClient = true;
    }
    this.#timer = every > 0 ? unrefTimer(this.#clock.setInterval(() => this.#kick(), every)) : undefined;
  }

  get shared(): boolean {
    return this.#shared;
  }

  note(pool: string, at: number, error: boolean, ttftMs: number | null): void {
    const p = this.#poolCounts(pool);
    addRequest(p.own, at, error, ttftMs);
    addRequest(p.unsent, at, error, ttftMs);
    for (const t of [p.ownTotals, p.unsentTotals]) {
      t.requests++;
      if (error) t.errors++;
    }
  }

  figures(pool: string, now: number, windowMs: number): VersionFigures {
    const p = this.#pools.get(pool);
    if (!p) return windowFigures([], now, windowMs);
    if (!this.#shared) return windowFigures([p.own], now, windowMs);
    const read = [...p.read.values()].map((m) => m.seconds);
    return windowFigures([...read, p.sent, p.unsent], now, windowMs);
  }

  totals(pool: string): VersionTotals {
    const p = this.#pools.get(pool);
    if (!p) return zero();
    if (!this.#shared) return { ...p.ownTotals };
    const layers = [p.readTotals, p.sentTotals, p.unsentTotals];
    return {
      requests: layers.reduce((n, t) => n + t.requests, 0),
      errors: layers.reduce((n, t) => n + t.errors, 0),
    };
  }

  keepOnly(pools: ReadonlySet<string>): void {
    for (const pool of this.#pools.keys()) if (!pools.has(pool)) this.#pools.delete(pool);
  }

  /** Writes this replica's counts now; rejects when Redis is away (they are kept for the next one). */
  flush(now = this.#clock.now()): Promise<void> {
    return this.#inTurn(() => this.#flushOnce(now));
  }

  refresh(pools: readonly string[], now: number, windowMs: number): Promise<void> {
    return this.#inTurn(async () => {
      await this.#flushOnce(now);
      await this.#read(pools, now, windowMs);
      this.#shared = true;
    }).catch(noop);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearInterval(this.#timer);
    try {
      await this.flush().catch(noop);
    } finally {
      if (this.#ownsClient) {
        if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect());
        else this.#client.disconnect();
      }
    }
  }

  #poolCounts(pool: string): PoolCounts {
    let p = this.#pools.get(pool);
    if (!p)
      this.#pools.set(
        pool,
        (p = {
          own: new Map(),
          ownTotals: zero(),
          unsent: new Map(),
          unsentTotals: zero(),
          sent: new Map(),
          sentTotals: zero(),
          read: new Map(),
          readTotals: zero(),
        }),
      );
    return p;
  }

  /** Flushes and reads run one at a time, in the order asked, so a read sees every flush before it. */
  #inTurn(step: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(step);
    this.#tail = run.then(noop, noop);
    return run;
  }

  /** A background flush, unless one is waiting already; a failure only turns `shared` off. */
  #kick(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    this.#inTurn(() => {
      this.#flushQueued = false;
      return this.#flushOnce(this.#clock.now());
    }).catch(noop);
  }

  async #flushOnce(now: number): Promise<void> {
    const oldest = now - this.#keepMs;
    const taken: [string, PoolCounts, Seconds, VersionTotals][] = [];
    for (const [pool, p] of this.#pools) {
      dropBefore(p.own, oldest);
      dropBefore(p.sent, oldest);
      dropBefore(p.unsent, oldest); // Redis would expire them at once
      for (const minute of p.read.keys()) if (minute + MINUTE_MS <= oldest) p.read.delete(minute);
      if (p.unsent.size === 0 && p.unsentTotals.requests === 0) continue;
      taken.push([pool, p, p.unsent, p.unsentTotals]);
      p.unsent = new Map();
      p.unsentTotals = zero();
    }
    if (taken.length === 0) return;
    try {
      await redisReady(this.#client, 'version stats', this.#readyTimeoutMs);
      const m = this.#client.multi();
      for (const [pool, p, seconds, totals] of taken) {
        if (this.#pools.get(pool) !== p) continue; // freed meanwhile: its version is gone
        for (const [second, c] of seconds) {
          const key = minuteKey(this.#prefix, pool, minuteOf(second));
          for (const [field, n] of fieldsOf(second, c)) m.hincrby(key, field, n);
          // Relative to the flush's `now` (the replicas' clock, as the window is), not Redis's clock.
          m.pexpire(key, minuteOf(second) + MINUTE_MS + this.#keepMs - now);
        }
        const tk = totalsKey(this.#prefix, pool);
        m.hincrby(tk, 'requests', totals.requests);
        if (totals.errors > 0) m.hincrby(tk, 'errors', totals.errors);
        m.pexpire(tk, TOTALS_TTL_MS);
      }
      const replies = await m.exec();
      if (replies === null) throw new Error('version stats: the flush was discarded');
    } catch (e) {
      this.#shared = false;
      for (const [, p, seconds, totals] of taken) {
        addSeconds(p.unsent, seconds);
        p.unsentTotals.requests += totals.requests;
        p.unsentTotals.errors += totals.errors;
      }
      throw e;
    }
    for (const [, p, seconds, totals] of taken) {
      addSeconds(p.sent, seconds);
      p.sentTotals.requests += totals.requests;
      p.sentTotals.errors += totals.errors;
    }
  }

  /** Every replica's counts of the pools' windows (the minutes not settled in an earlier read). */
  async #read(pools: readonly string[], now: number, windowMs: number): Promise<void> {
    const from = Math.max(now - windowMs, now - this.#keepMs);
    const pipeline = this.#client.pipeline();
    const asked = pools.map((pool) => {
      const p = this.#poolCounts(pool);
      const minutes: number[] = [];
      // The minutes holding the seconds that start in (from, now].
      for (let minute = minuteOf(from + 1); minute <= now; minute += MINUTE_MS) {
        if (p.read.get(minute)?.settled) continue;
        minutes.push(minute);
        pipeline.hgetall(minuteKey(this.#prefix, pool, minute));
      }
      pipeline.hmget(totalsKey(this.#prefix, pool), 'requests', 'errors');
      return { p, minutes };
    });
    await redisReady(this.#client, 'version stats', this.#readyTimeoutMs);
    const replies = (await pipeline.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    // Replies come in the order asked: each pool's minutes, then its totals.
    let i = 0;
    for (const { p, minutes } of asked) {
      for (const minute of minutes) {
        const hash = replies[i++]![1] as Record<string, string>;
        const settled = now >= minute + MINUTE_MS + SETTLE_MS;
        p.read.set(minute, { seconds: parseMinute(minute, hash), settled });
      }
      const [requests, errors] = replies[i++]![1] as (string | null)[];
      p.readTotals = { requests: Number(requests ?? 0), errors: Number(errors ?? 0) };
      // What this replica wrote before the read is in it now.
      p.sent = new Map();
      p.sentTotals = zero();
    }
  }
}
