import { once } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * Waits until a client without an offline queue can take commands: connects a lazy one, waits for one
 * that is connecting, and rejects on its next 'error' (e.g. ECONNREFUSED) or after `timeoutMs`, so a
 * caller fails fast rather than hanging on an outage. `what` names the caller in the error.
 */
export async function redisReady(c: Redis, what: string, timeoutMs = 1000): Promise<void> {
  if (c.status === 'ready') return;
  if (c.status === 'wait') return void (await c.connect());
  if (c.status === 'end') throw new Error(`${what}: the Redis connection has ended`);
  await once(c, 'ready', { signal: AbortSignal.timeout(timeoutMs) });
}
