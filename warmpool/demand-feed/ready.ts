import { once } from 'node:events';
import type { Redis } from 'ioredis';

/** Waits for the connection, failing fast (the 'error' event or the timeout) so a tick never hangs. */
export async function ready(c: Redis, timeoutMs: number): Promise<void> {
  if (c.status === 'ready') return;
  if (c.status === 'wait') return void (await c.connect());
  if (c.status === 'end') throw new Error('demand feed: the Redis connection has ended');
  await once(c, 'ready', { signal: AbortSignal.timeout(timeoutMs) });
}
