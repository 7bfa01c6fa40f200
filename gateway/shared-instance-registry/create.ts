import type { Clock } from '../../runtime/time/clock.ts';
import { MemorySharedRegistry } from './memory-registry.ts';
import { RedisSharedRegistry } from './redis-registry.ts';
import type { SharedInstanceRegistry } from './types.ts';

export interface SharedRegistryOptions {
  /** Redis when given (e.g. 'redis://127.0.0.1:6379'), in-process memory otherwise. */
  redisUrl?: string;
  ttlMs?: number;
  /** The Redis resync, or the memory sweep of stale entries. Default 1000 ms. */
  resyncIntervalMs?: number;
  /** Default systemClock. */
  clock?: Clock;
}

export function createSharedRegistry(o: SharedRegistryOptions = {}): SharedInstanceRegistry {
  const { redisUrl, ttlMs, resyncIntervalMs, clock } = o;
  if (redisUrl !== undefined && redisUrl !== '') {
    return new RedisSharedRegistry({ url: redisUrl, ttlMs, resyncIntervalMs, clock });
  }
  return new MemorySharedRegistry({ ttlMs, sweepIntervalMs: resyncIntervalMs, clock });
}
