import type { Redis } from 'ioredis';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { apiKeyId } from './api-key.ts';
import { type KeyRecord, type KeyRequest, newKeyRecord } from './key-record.ts';
import { byCreation, type KeyCheck, type KeyStore } from './key-store.ts';
import { checkKey } from './memory-key-store.ts';
import { redisReady } from '../redis/ready.ts';
import { keepSubscribed } from '../redis/subscriber.ts';

export interface RedisKeyStoreOptions {
  /** Commands. The caller owns it (and quits it). */
  client: Redis;
  /**
   * A connection for the change channel (from `openSubscriber`), owned by the caller. Without one, other
   * replicas' revocations are seen only when a cached entry expires.
   */
  subscriber?: Redis;
  /** Default 'warmgate:'. Keys are the hash `${keyPrefix}api-keys` (id → record JSON). */
  keyPrefix?: string;
  /** How long a looked-up key is trusted before it is read again. Default 1000 ms. */
  cacheMs?: number;
  /** Default systemClock. */
  clock?: Clock;
  /** Where failed lookups are reported (at most one line per 10 s). Default console.warn. */
  warn?: (message: string) => void;
}

interface Cached {
  record: KeyRecord | null;
  at: number;
}

/**
 * Keys in one Redis hash, so that every replica sharing the Redis knows the same keys. Lookups are cached
 * for `cacheMs` and dropped at once when any replica publishes a change (create, revoke) on the channel,
 * so a revocation reaches every replica within milliseconds, and within `cacheMs` even when a message is
 * lost. While Redis is unreachable a key seen before keeps working from the cache (stale); one never seen
 * answers auth_unavailable: it cannot be checked, so it is not let in.
 */
export class RedisKeyStore implements KeyStore {
  readonly #client: Redis;
  readonly #hash: string;
  readonly #channel: string;
  readonly #cacheMs: number;
  readonly #clock: Clock;
  readonly #warn: (message: string) => void;
  readonly #cache = new Map<string, Cached>();
  readonly #reading = new Map<string, Promise<KeyRecord | null>>();
  #warnedAt = -Infinity;

  constructor(o: RedisKeyStoreOptions) {
    const prefix = o.keyPrefix ?? 'warmgate:';
    this.#client = o.client;
    this.#hash = `${prefix}api-keys`;
    this.#channel = `${prefix}api-keys:changed`;
    this.#cacheMs = o.cacheMs ?? 1000;
    this.#clock = o.clock ?? systemClock;
    this.#warn = o.warn ?? ((m) => console.warn(m));
    const sub = o.subscriber;
    if (sub) {
      sub.on('message', (channel: string, id: string) => {
        if (channel === this.#channel) this.#cache.delete(id);
      });
      // Messages sent while the subscription was down are lost: forget everything on each (re)connect.
      sub.on('ready', () => this.#cache.clear());
      void keepSubscribed(sub, this.#channel);
    }
  }

  async create(request: KeyRequest): Promise<{ record: KeyRecord; key: string }> {
    const { record, key } = newKeyRecord(request, this.#clock.now());
    await redisReady(this.#client, 'api keys');
    // HSETNX: a (vanishingly unlikely) id collision must not overwrite another key.
    if ((await this.#client.hsetnx(this.#hash, record.id, JSON.stringify(record))) === 0) {
      return this.create(request);
    }
    await this.#changed(record.id);
    return { record, key };
  }

  async list(): Promise<KeyRecord[]> {
    await redisReady(this.#client, 'api keys');
    const all = await this.#client.hgetall(this.#hash);
    return Object.values(all)
      .map((json) => JSON.parse(json) as KeyRecord)
      .sort(byCreation);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    await redisReady(this.#client, 'api keys');
    const json = await this.#client.hget(this.#hash, id);
    return json === null ? undefined : (JSON.parse(json) as KeyRecord);
  }

  async revoke(id: string): Promise<KeyRecord | undefined> {
    const r = await this.get(id);
    if (r === undefined || r.revokedAt !== null) return r;
    const revoked: KeyRecord = { ...r, revokedAt: this.#clock.now() };
    await this.#client.hset(this.#hash, id, JSON.stringify(revoked));
    await this.#changed(id);
    return revoked;
  }

  async verify(key: string): Promise<KeyCheck> {
    const id = apiKeyId(key);
    if (id === null) return { ok: false, code: 'api_key_invalid' };
    const cached = this.#cache.get(id);
    let record: KeyRecord | null;
    if (cached && this.#clock.now() - cached.at < this.#cacheMs) {
      record = cached.record;
    } else if (cached && this.#client.status !== 'ready') {
      record = cached.record; // Redis is down: not worth a wait on every request, the cache answers
    } else {
      try {
        record = await this.#read(id);
      } catch (e) {
        if (this.#clock.now() - this.#warnedAt > 10_000) {
          this.#warnedAt = this.#clock.now();
          this.#warn(`api keys: Redis lookup failed, serving keys from cache: ${(e as Error).message}`);
        }
        if (!cached) return { ok: false, code: 'auth_unavailable' };
        record = cached.record;
      }
    }
    return checkKey(key, () => record);
  }

  close(): Promise<void> {
    this.#cache.clear();
    return Promise.resolve();
  }

  /** One read per id at a time, however many requests wait for it. */
  #read(id: string): Promise<KeyRecord | null> {
    let p = this.#reading.get(id);
    if (!p) {
      p = (async () => {
        try {
          await redisReady(this.#client, 'api keys');
          const json = await this.#client.hget(this.#hash, id);
          const record = json === null ? null : (JSON.parse(json) as KeyRecord);
          this.#cache.set(id, { record, at: this.#clock.now() });
          return record;
        } finally {
          this.#reading.delete(id);
        }
      })();
      this.#reading.set(id, p);
    }
    return p;
  }

  async #changed(id: string): Promise<void> {
    this.#cache.delete(id);
    await this.#client.publish(this.#channel, id);
  }
}
