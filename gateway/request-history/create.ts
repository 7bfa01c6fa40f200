import type { Clock } from '../../runtime/time/clock.ts';
import { MemoryHistoryStore } from './memory-store.ts';
import { RedisHistoryStore } from './redis-store.ts';
import type { HistoryStore, Resolution } from './types.ts';

export interface HistoryStoreOptions {
  /** Redis when given (e.g. 'redis://127.0.0.1:6379'), in-process memory otherwise. */
  redisUrl?: string;
  resolutions?: readonly Resolution[];
  /** Default systemClock. */
  clock?: Clock;
  flushIntervalMs?: number;
  maxBuffered?: number;
  /** Redis only: keys whose counts may wait through an outage (README.md, "Redis away"). */
  maxUnsentKeys?: number;
  keyPrefix?: string;
}

export function createHistoryStore(options: HistoryStoreOptions = {}): HistoryStore {
  const { redisUrl, ...rest } = options;
  if (redisUrl !== undefined && redisUrl !== '') return new RedisHistoryStore({ ...rest, url: redisUrl });
  return new MemoryHistoryStore({ resolutions: rest.resolutions, clock: rest.clock });
}
