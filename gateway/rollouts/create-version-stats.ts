import type { Clock } from '../../runtime/time/clock.ts';
import { MemoryVersionStats } from './memory-version-stats.ts';
import { RedisVersionStats } from './redis-version-stats.ts';
import type { VersionStats } from './version-stats.ts';

export interface VersionStatsOptions {
  /** Shared with the other gateway replicas through Redis when given, this gateway's alone otherwise. */
  redisUrl?: string;
  /** Default systemClock. */
  clock?: Clock;
  keyPrefix?: string;
}

export function createVersionStats(options: VersionStatsOptions = {}): VersionStats {
  const { redisUrl, ...rest } = options;
  if (redisUrl !== undefined && redisUrl !== '') return new RedisVersionStats({ ...rest, url: redisUrl });
  return new MemoryVersionStats();
}
