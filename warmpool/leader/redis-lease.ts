import { Redis } from 'ioredis';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { ACQUIRE, CURRENT, FENCED_SET, RELEASE, RENEW } from './scripts.ts';

export interface LeaseInfo {
  readonly holder: string;
  readonly token: number;
  /** Local estimate (now() + Redis's PTTL); Redis's own clock decides the real expiry. */
  readonly expiresAt: number;
}

/** What LeaderElector needs from a lease; RedisLease is the real one. */
export interface Lease {
  readonly ttlMs: number;
  tryAcquire(holderId: string): Promise<{ token: number } | null>;
  renew(holderId: string, token: number): Promise<boolean>;
  release(holderId: string, token: number): Promise<boolean>;
}

interface RedisLeaseCommon {
  /** Lease key; the token counter is `${key}:token`. Default 'wg:warmpool:leader'. */
  key?: string;
  /** Default 3000 ms. */
  ttlMs?: number;
  /** Default systemClock. */
  clock?: Clock;
}

/** From a URL (the lease owns the client and quits it on close) or from a client the caller owns. */
export type RedisLeaseOptions = RedisLeaseCommon &
  ({ url: string; client?: undefined } | { client: Redis; url?: undefined });

const noop = (): void => undefined;

/**
 * A single-holder lease in Redis with fencing tokens. Every operation is one Lua script, so the
 * check and the write cannot interleave with another replica's. Redis errors are thrown; "someone
 * else holds it" and "you no longer hold it" are return values.
 */
export class RedisLease implements Lease {
  readonly ttlMs: number;
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #leaseKey: string;
  readonly #tokenKey: string;
  readonly #clock: Clock;

  constructor(options: RedisLeaseOptions) {
    this.ttlMs = options.ttlMs ?? 3000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 30) {
      throw new RangeError(`RedisLease ttlMs must be an integer >= 30, got ${options.ttlMs}`);
    }
    this.#leaseKey = options.key ?? 'wg:warmpool:leader';
    this.#tokenKey = `${this.#leaseKey}:token`;
    this.#clock = options.clock ?? systemClock;
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      // Fail fast while disconnected: a lease call that waits in a queue could answer after the
      // lease it speaks about has expired. The timeout bounds a call on a half-dead connection.
      this.#client = new Redis(options.url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: this.ttlMs,
      });
      this.#client.on('error', noop); // surfaced as rejected calls; the event would only be noise
      this.#ownsClient = true;
    }
  }

  async tryAcquire(holderId: string): Promise<{ token: number } | null> {
    const token = await this.#client.eval(ACQUIRE, 2, this.#leaseKey, this.#tokenKey, holderId, this.ttlMs);
    return token === null ? null : { token: Number(token) };
  }

  /** True when the caller still held the lease (same holder and token) and it now runs another TTL. */
  async renew(holderId: string, token: number): Promise<boolean> {
    return (await this.#client.eval(RENEW, 1, this.#leaseKey, holderId, String(token), this.ttlMs)) === 1;
  }

  /** Gives the lease up at once so another replica need not wait out the TTL. False if not held. */
  async release(holderId: string, token: number): Promise<boolean> {
    return (await this.#client.eval(RELEASE, 1, this.#leaseKey, holderId, String(token))) === 1;
  }

  async current(): Promise<LeaseInfo | null> {
    const reply = (await this.#client.eval(CURRENT, 1, this.#leaseKey)) as [string, string, number] | null;
    if (reply === null) return null;
    const [holder, token, pttl] = reply;
    return { holder, token: Number(token), expiresAt: this.#clock.now() + Math.max(0, pttl) };
  }

  /**
   * Writes `value` to `key` only if `token` is still the newest fencing token (see FENCED_SET in
   * scripts.ts for the rule). A leader that was paused past its lease and wakes up gets false
   * instead of overwriting what the new leader wrote.
   */
  async fencedSet(key: string, value: string, token: number): Promise<boolean> {
    return (
      (await this.#client.eval(FENCED_SET, 3, this.#leaseKey, this.#tokenKey, key, String(token), value)) ===
      1
    );
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.disconnect();
  }
}
