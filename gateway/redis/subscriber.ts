import { Redis, type RedisOptions } from 'ioredis';

const noop = (): void => undefined;

/**
 * A connection for subscriber mode that survives Redis restarts without ever leaving a rejection
 * unhandled. ioredis's own `autoResubscribe` sends SUBSCRIBE on reconnect with nothing handling its
 * promise: if the connection drops again before the reply (a flapping Redis, or a close), that rejection
 * is unhandled and ends the process. So it is off here, and `keepSubscribed` resubscribes itself.
 * Errors are not emitted as events: an outage shows only as messages not arriving.
 */
export function openSubscriber(url: string, options: RedisOptions = {}): Redis {
  const c = new Redis(url, { ...options, autoResubscribe: false });
  c.on('error', noop);
  return c;
}

/**
 * Subscribes `c` (from `openSubscriber`) to `channel` once it is ready and again after every reconnect.
 * Resolves on the first subscription; never rejects (a failed attempt waits for the next reconnect).
 */
export function keepSubscribed(c: Redis, channel: string): Promise<void> {
  let first: () => void = noop;
  const subscribed = new Promise<void>((resolve) => (first = resolve));
  const subscribe = (): void => void c.subscribe(channel).then(() => first(), noop);
  c.on('ready', subscribe);
  if (c.status === 'ready') subscribe();
  return subscribed;
}
