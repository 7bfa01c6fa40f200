import type { Meter } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { openSubscriber } from '../redis/subscriber.ts';
import type { KeyStore } from './key-store.ts';
import type { Limiter } from './limiter.ts';
import { MemoryKeyStore } from './memory-key-store.ts';
import { MemoryLimiter } from './memory-limiter.ts';
import { RedisKeyStore } from './redis-key-store.ts';
import { RedisLimiter } from './redis-limiter.ts';

export interface AuthBackendOptions {
  /** Keys and limits in Redis, shared by every replica, when set. */
  readonly redisUrl?: string;
  /** Without Redis: where keys persist (hashes only). Without either: in memory. */
  readonly file?: string;
  /** Follow other replicas' key changes at once (a subscriber connection). Default true. */
  readonly follow?: boolean;
  /** Default 'warmgate:'. */
  readonly keyPrefix?: string;
  /** How long a looked-up key is trusted before it is read again. Default 1000 ms. */
  readonly cacheMs?: number;
  /** How long a concurrency lease lives unrenewed. Default 30 s. */
  readonly leaseTtlMs?: number;
  /** Counts the limit checks Redis could not answer (warmgate_gateway_limiter_fail_open_total). */
  readonly meter?: Meter;
  /** Where Redis failures are reported, at most once per 10 s. Default console.warn. */
  readonly warn?: (message: string) => void;
  /** Default systemClock. */
  readonly clock?: Clock;
}

export interface AuthBackend {
  readonly keys: KeyStore;
  readonly limiter: Limiter;
  close(): Promise<void>;
}

const noop = (): void => undefined;

/** The key store and the limiter: both in Redis when there is one, else in this process (keys in a file). */
export async function openAuthBackend(o: AuthBackendOptions = {}): Promise<AuthBackend> {
  const clock = o.clock ?? systemClock;
  if (!o.redisUrl) {
    const keys = await MemoryKeyStore.open({ file: o.file, clock });
    const limiter = new MemoryLimiter({ clock });
    return {
      keys,
      limiter,
      async close() {
        await limiter.close();
        await keys.close();
      },
    };
  }
  // Fail fast while disconnected: a limit check must not wait in an offline queue (it fails open), nor may
  // a key lookup (it answers from the cache).
  const client = new Redis(o.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
  });
  client.on('error', noop); // surfaced by the calls that fail
  const subscriber = o.follow === false ? undefined : openSubscriber(o.redisUrl);
  const warn = o.warn ?? ((m: string) => console.warn(m));
  const failOpen = o.meter?.createCounter('warmgate_gateway_limiter_fail_open_total', {
    description: 'Key limit checks Redis could not answer; the requests were let in.',
  });
  let warnedAt = -Infinity;
  const keys = new RedisKeyStore({
    client,
    subscriber,
    keyPrefix: o.keyPrefix,
    cacheMs: o.cacheMs,
    warn,
    clock,
  });
  const limiter = new RedisLimiter({
    client,
    keyPrefix: o.keyPrefix,
    leaseTtlMs: o.leaseTtlMs,
    onFailOpen: (e) => {
      failOpen?.add(1);
      if (clock.now() - warnedAt < 10_000) return;
      warnedAt = clock.now();
      warn(`api keys: Redis limit check failed, letting requests in: ${e.message}`);
    },
  });
  return {
    keys,
    limiter,
    async close() {
      await limiter.close();
      await keys.close();
      for (const c of [client, subscriber]) {
        if (!c) continue;
        if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
        else c.disconnect();
      }
    },
  };
}
