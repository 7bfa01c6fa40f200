import { Redis } from 'ioredis';

/**
 * Conversations' last instances as every gateway replica sees them: a turn that reaches a replica which
 * never routed its conversation goes to the instance holding its KV blocks all the same. A hint, never a
 * dependency: a lookup that fails or is slow answers null, and routing decides as it would without it.
 */
export interface SessionShare {
  /** The instance another replica last sent the conversation to; null when none is known. */
  lookup(pool: string, conversation: string): Promise<string | null>;
  /** This replica sent it to `instanceId` (written in the background). */
  record(pool: string, conversation: string, instanceId: string): void;
  close(): Promise<void>;
}

/** A conversation idle this long is forgotten (the instance's prefix cache has long evicted it). */
const KEPT_MS = 6 * 3_600_000;
/** A turn waits this long at most for the shared pin before routing without it. */
const LOOKUP_TIMEOUT_MS = 50;

const noop = (): void => undefined;

/** In Redis: one key per conversation, `<prefix><pool>/<conversation>` → instance id. */
export class RedisSessionShare implements SessionShare {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(o: { url: string; keyPrefix?: string }) {
    this.#client = new Redis(o.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.#client.on('error', noop); // routing goes on without the hint
    this.#prefix = o.keyPrefix ?? 'wg:session:';
  }

  async lookup(pool: string, conversation: string): Promise<string | null> {
    if (this.#client.status !== 'ready') return null;
    const key = this.#key(pool, conversation);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), LOOKUP_TIMEOUT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([this.#client.get(key), late]);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  record(pool: string, conversation: string, instanceId: string): void {
    if (this.#client.status !== 'ready') return;
    this.#client.set(this.#key(pool, conversation), instanceId, 'PX', KEPT_MS).catch(noop);
  }

  async close(): Promise<void> {
    const c = this.#client;
    if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
    else c.disconnect();
  }

  #key(pool: string, conversation: string): string {
    return `${this.#prefix}${pool}/${conversation}`;
  }
}
