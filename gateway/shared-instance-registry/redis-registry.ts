import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { type Clock, systemClock, unrefTimer } from '../../runtime/time/clock.ts';
import { keepSubscribed, openSubscriber } from '../redis/subscriber.ts';
import { parseEntry, parseMessage, type RegistryMessage } from './wire.ts';
import type { InstanceEntry, RegistryEvent, RegistryListener, SharedInstanceRegistry } from './types.ts';
import { RegistryView } from './view.ts';

export interface RedisSharedRegistryOptions {
  url: string;
  /** Default 'warmgate:instances'; events go to `${key}:events`. */
  key?: string;
  /** Entries not re-published for this long are gone. Default 10_000 ms. */
  ttlMs?: number;
  /** How often the whole hash is read and diffed against the local view; 0 turns it off. Default 1000 ms. */
  resyncIntervalMs?: number;
  /** Delay between reconnection attempts. Default 200 ms. */
  reconnectDelayMs?: number;
  /** How long publish/remove wait for a connection that is not ready. Default 1000 ms. */
  readyTimeoutMs?: number;
  /** Default systemClock. */
  clock?: Clock;
}

/** Publish or remove could not reach Redis; the shared view did not change. */
export class RegistryUnavailableError extends Error {
  override readonly name = 'RegistryUnavailableError';
}

const noop = (): void => undefined;

/**
 * The shared registry in Redis: entries in one hash (id → JSON), changes announced on a pub/sub channel
 * read by a second connection, and a periodic full read that heals missed messages and reconnects.
 * While Redis is unreachable the last known view stays (nothing expires: nobody could have refreshed it).
 */
export class RedisSharedRegistry implements SharedInstanceRegistry {
  /** Tags this object's messages: it applied them when it sent them, so the echo is skipped. */
  readonly #origin = randomUUID();
  readonly #url: string;
  readonly #key: string;
  readonly #channel: string;
  readonly #view: RegistryView;
  readonly #clock: Clock;
  readonly #readyTimeoutMs: number;
  readonly #client: Redis;
  readonly #sub: Redis;
  readonly #listeners = new Set<RegistryListener>();
  /** What this object published itself, written back if a restarted Redis lost it. */
  readonly #own = new Map<string, InstanceEntry>();
  readonly #timer: unknown;
  readonly #subscribed: Promise<unknown>;
  #syncing: Promise<void> | null = null;
  #connectedOnce = false;
  #closed = false;

  constructor(o: RedisSharedRegistryOptions) {
    this.#url = o.url;
    this.#key = o.key ?? 'warmgate:instances';
    this.#channel = `${this.#key}:events`;
    this.#view = new RegistryView(o.ttlMs ?? 10_000);
    this.#clock = o.clock ?? systemClock;
    this.#readyTimeoutMs = o.readyTimeoutMs ?? 1000;
    const retryStrategy = (): number => o.reconnectDelayMs ?? 200;
    // Fail fast while disconnected: publish reports it, reads use the last known view.
    this.#client = new Redis(o.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy });
    this.#client.on('error', noop); // surfaced through publish/remove; the event would only be noise
    this.#client.on('ready', () => void this.#onReady());
    this.#sub = openSubscriber(o.url, { retryStrategy });
    this.#sub.on('message', (_channel: string, text: string) => this.#onMessage(text));
    this.#subscribed = keepSubscribed(this.#sub, this.#channel);
    const every = o.resyncIntervalMs ?? 1000;
    this.#timer = every > 0 ? unrefTimer(this.#clock.setInterval(() => void this.sync(), every)) : undefined;
  }

  async publish(entry: InstanceEntry): Promise<void> {
    const message: RegistryMessage = { type: 'upsert', entry, origin: this.#origin };
    await this.#write('publish', (m) =>
      m.hset(this.#key, entry.id, JSON.stringify(entry)).publish(this.#channel, JSON.stringify(message)),
    );
    this.#own.set(entry.id, entry);
    this.#emit(this.#view.upsert(entry, this.#clock.now()));
  }

  async remove(id: string): Promise<void> {
    const message: RegistryMessage = { type: 'remove', id, origin: this.#origin };
    await this.#write('remove', (m) => m.hdel(this.#key, id).publish(this.#channel, JSON.stringify(message)));
    this.#own.delete(id);
    this.#emit(this.#view.remove(id, true));
  }

  /**
   * Resolves once both connections are up, the channel subscribed and the hash read once; rejects after
   * `timeoutMs`. Not needed before use (nothing waits for it), but tells a caller the view is current.
   */
  async connected(timeoutMs = 5000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await Promise.all([
        this.#client.status === 'ready' ? null : once(this.#client, 'ready', { signal }),
        Promise.race([this.#subscribed, once(signal, 'abort').then(() => signal.throwIfAborted())]),
      ]);
    } catch (e) {
      throw new RegistryUnavailableError(`shared instance registry: no connection to ${this.#url}`, {
        cause: e,
      });
    }
    await this.sync();
  }

  list(deployment?: string): InstanceEntry[] {
    return this.#view.list(deployment);
  }

  subscribe(listener: RegistryListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Reads the whole hash and applies the difference; on failure the view stays as it was. */
  sync(): Promise<void> {
    this.#syncing ??= this.#resync().finally(() => (this.#syncing = null));
    return this.#syncing;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearInterval(this.#timer);
    this.#listeners.clear();
    await Promise.allSettled([this.#syncing]);
    this.#client.disconnect();
    this.#sub.disconnect();
  }

  async #resync(): Promise<void> {
    if (this.#closed || this.#client.status !== 'ready') return;
    const mark = this.#view.mark();
    let raw: Record<string, string>;
    try {
      raw = await this.#client.hgetall(this.#key);
    } catch {
      return; // unreachable: keep the last known view; the next resync or the reconnect heals it
    }
    if (this.#closed) return;
    const remote = Object.values(raw).flatMap((text) => parseEntry(text) ?? []);
    this.#emit(this.#view.replace(remote, mark, this.#clock.now()));
  }

  async #onReady(): Promise<void> {
    // A restarted Redis (no persistence) lost the hash: write back what this side published, unless
    // someone wrote a newer one meanwhile.
    if (this.#connectedOnce && this.#own.size > 0) {
      const m = this.#client.multi();
      for (const e of this.#own.values()) {
        m.hsetnx(this.#key, e.id, JSON.stringify(e));
        m.publish(
          this.#channel,
          JSON.stringify({ type: 'upsert', entry: e, origin: '' } satisfies RegistryMessage),
        );
      }
      await m.exec().catch(noop);
    }
    this.#connectedOnce = true;
    await this.sync();
  }

  #onMessage(text: string): void {
    const m = parseMessage(text);
    if (m === null || m.origin === this.#origin || this.#closed) return;
    const now = this.#clock.now();
    this.#emit(m.type === 'upsert' ? this.#view.upsert(m.entry, now) : this.#view.remove(m.id, true));
  }

  async #write(what: string, build: (m: ReturnType<Redis['multi']>) => unknown): Promise<void> {
    try {
      if (this.#closed) throw new Error('the registry is closed');
      if (this.#client.status !== 'ready') {
        const timeout = AbortSignal.timeout(this.#readyTimeoutMs);
        await once(this.#client, 'ready', { signal: timeout }).catch(() => {
          throw new Error(`no connection within ${this.#readyTimeoutMs} ms`);
        });
      }
      const m = this.#client.multi();
      build(m);
      const replies = await m.exec();
      const failed = replies?.find(([err]) => err !== null)?.[0];
      if (failed) throw failed;
    } catch (e) {
      throw new RegistryUnavailableError(
        `shared instance registry: could not ${what} at ${this.#url}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  #emit(events: readonly RegistryEvent[]): void {
    for (const ev of events) for (const l of [...this.#listeners]) l(ev);
  }
}
