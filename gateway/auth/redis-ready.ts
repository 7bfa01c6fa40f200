import { once } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * Waits until a client without an offline queue can take commands: connects a lazy one, waits for one that
 * is connecting, rejects on its next error or after `timeoutMs`.
 */
export async function redisReady(c: Redis, timeoutMs = 1000): Promise<void> {
  if (c.status === 'ready') return;
  if (c.status === 'wait') return void (await c.connect());
  if (c.status === 'end') throw new Error('the Redis connection has ended');
  await once(c, 'ready', { signal: AbortSignal.timeout(timeoutMs) });
}
