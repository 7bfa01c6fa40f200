import type { Clock } from '../../runtime/time/clock.ts';
import { RedisSequencePins } from './redis-sequence-pins.ts';
import { MemorySequencePins, type SequencePinStore } from './sequence-pin-store.ts';

/** In Redis when `redisUrl` is set, else in memory. */
export function createSequencePins(o: { redisUrl?: string; clock: Clock }): SequencePinStore {
  if (o.redisUrl) return new RedisSequencePins({ url: o.redisUrl, clock: o.clock });
  return new MemorySequencePins(o.clock);
}
