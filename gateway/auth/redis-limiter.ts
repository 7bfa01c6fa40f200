import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { burstOf, type KeyLimits } from './key-record.ts';
import { type Admission, type Limiter, type LimitUsage, refusal } from './limiter.ts';
import { ADMIT, FINISH, RENEW, USAGE } from './limiter-scripts.ts';

interface LimitCommands {
  wgAdmit(limits: string, leases: string, ...argv: (string | number)[]): Promise<[number, number]>;
  wgFinish(limits: string, leases: string, lease: string, tokens: number): Promise<number>;
  wgRenew(leases: string, lease: string, ttlMs: number): Promise<number>;
  wgUsage(limits: string, leases: string): Promise<[number, number, number]>;
}

export interface RedisLimiterOptions {
  /** The caller owns it (and quits it); it should fail fast while disconnected (no offline queue). */
  client: Redis;
  /** Default 'warmgate:'. */
  keyPrefix?: string;
  /** How long a concurrency lease lives without renewal (a crashed gateway's leases lapse). Default 30 s. */
  leaseTtlMs?: number;
  /** Called when Redis could not be asked and the request was let in (fail open). */
  onFailOpen?: (error: Error) => void;
}

/**
 * Per-key limits shared by every replica through Redis, one script call per admission and one per finish.
 * When Redis cannot be reached the request is let in (fail open, reported through onFailOpen): an outage
 * of the limiter's store should not become an outage of the API. Leases of live requests are renewed
 * every third of their ttl.
 */
export class RedisLimiter implements Limiter {
  readonly #client: Redis & LimitCommands;
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #onFailOpen: (error: Error) => void;
  /** Live leases: lease id → leases key. */
  readonly #held = new Map<string, string>();
  readonly #renewing: NodeJS.Timeout;
  readonly #nonce = randomBytes(6).toString('hex');
  #next = 0;

  constructor(o: RedisLimiterOptions) {
    this.#client = o.client as Redis & LimitCommands;
    this.#prefix = o.keyPrefix ?? 'warmgate:';
    this.#ttl = o.leaseTtlMs ?? 30_000;
    this.#onFailOpen = o.onFailOpen ?? (() => undefined);
    const c = o.client;
    if (!('wgAdmit' in c)) {
      c.defineCommand('wgAdmit', { numberOfKeys: 2, lua: ADMIT });
      c.defineCommand('wgFinish', { numberOfKeys: 2, lua: FINISH });
      c.defineCommand('wgRenew', { numberOfKeys: 1, lua: RENEW });
    }
    if (!('wgUsage' in c)) c.defineCommand('wgUsage', { numberOfKeys: 2, lua: USAGE });
    this.#renewing = setInterval(() => this.#renew(), Math.max(100, Math.floor(this.#ttl / 3)));
    this.#renewing.unref();
  }

  async admit(keyId: string, l: KeyLimits): Promise<Admission> {
    const lease = l.maxConcurrentRequests === undefined ? '' : `${this.#nonce}:${this.#next++}`;
    let r: [number, number];
    try {
      r = await this.#client.wgAdmit(
        this.#limitsKey(keyId),
        this.#leasesKey(keyId),
        l.requestsPerSecond ?? 0,
        l.requestsPerSecond === undefined ? 0 : burstOf(l),
        l.tokensPerMinute ?? 0,
        l.tokensPerDay ?? 0,
        l.maxConcurrentRequests ?? 0,
        lease,
        this.#ttl,
      );
    } catch (e) {
      this.#onFailOpen(e as Error);
      return { ok: true, lease: null };
    }
    if (r[0] !== 0) return refusal(r[0], r[1]);
    if (lease === '') return { ok: true, lease: null };
    this.#held.set(lease, this.#leasesKey(keyId));
    return { ok: true, lease };
  }

  finish(keyId: string, lease: string | null, tokens: number): void {
    if (lease !== null) this.#held.delete(lease);
    if (lease === null && tokens <= 0) return;
    this.#client
      .wgFinish(this.#limitsKey(keyId), this.#leasesKey(keyId), lease ?? '', Math.max(0, Math.round(tokens)))
      .catch((e: unknown) => this.#onFailOpen(e as Error)); // the lease lapses on its own
  }

  async usage(keyId: string): Promise<LimitUsage> {
    const [tokensThisMinute, tokensToday, leases] = await this.#client.wgUsage(
      this.#limitsKey(keyId),
      this.#leasesKey(keyId),
    );
    return { tokensThisMinute, tokensToday, leases };
  }

  close(): Promise<void> {
    clearInterval(this.#renewing);
    return Promise.resolve();
  }

  #renew(): void {
    if (this.#held.size === 0) return;
    const p = this.#client.pipeline();
    for (const [lease, key] of this.#held) (p as unknown as LimitCommands).wgRenew(key, lease, this.#ttl);
    p.exec().catch(() => undefined); // a lease that lapses meanwhile only frees a slot early
  }

  // The braces are a hash tag: both keys of one API key land on one Redis Cluster slot.
  #limitsKey(id: string): string {
    return `${this.#prefix}limits:{${id}}`;
  }

  #leasesKey(id: string): string {
    return `${this.#prefix}leases:{${id}}`;
  }
}
