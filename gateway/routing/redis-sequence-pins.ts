import { Redis } from 'ioredis';
import type { Clock } from '../../runtime/time/clock.ts';
import type { SequencePinStore } from './sequence-pin-store.ts';
import { type SequencePlace, SequencePins } from './sequence-pins.ts';

/** Reads a pin and restarts its idle timer (kept in the value) in one round trip. */
const TOUCH = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local ms = tonumber(string.match(v, '\\n(%d+)$'))
if ms then redis.call('PEXPIRE', KEYS[1], ms) end
return v`;

const noop = (): void => undefined;

/**
 * Sequence pins in Redis, one key per sequence (`<prefix><pool>/<id>` → instance id and idle timeout),
 * expiring after the sequence's idle timeout as the instance's own state does. Every replica reads and
 * writes the same keys. While Redis is away (or still connecting), the pins this replica made are answered
 * from its memory: a sequence continued through the replica that started it still works, and no request
 * waits on Redis or fails for it.
 */
export class RedisSequencePins implements SequencePinStore {
  readonly #client: Redis;
  readonly #prefix: string;
  /** Every pin this replica made: answers while Redis is away. */
  readonly #local: SequencePins;
  /** The pins this replica made that Redis never got (made while it was away). */
  readonly #unshared: SequencePins;
  readonly #clock: Clock;

  constructor(o: { url: string; clock: Clock; keyPrefix?: string }) {
    this.#client = new Redis(o.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.#client.on('error', noop); // an outage falls back to this replica's own pins
    this.#prefix = o.keyPrefix ?? 'wg:seq:';
    this.#local = new SequencePins();
    this.#unshared = new SequencePins();
    this.#clock = o.clock;
  }

  async pin(pool: string, id: string, instanceId: string, idleTimeoutMs: number): Promise<void> {
    const now = this.#clock.monotonic();
    this.#local.pin(pool, id, instanceId, idleTimeoutMs, now);
    const ms = Math.max(1, Math.round(idleTimeoutMs));
    const written = await this.#shared((c) => c.set(this.#key(pool, id), `${instanceId}\n${ms}`, 'PX', ms));
    if (written === undefined) this.#unshared.pin(pool, id, instanceId, idleTimeoutMs, now);
    else this.#unshared.unpin(pool, id);
  }

  async where(pool: string, id: string): Promise<SequencePlace> {
    const now = this.#clock.monotonic();
    const local = this.#local.where(pool, id, now);
    const value = await this.#shared((c) => c.eval(TOUCH, 1, this.#key(pool, id)) as Promise<string | null>);
    if (value === undefined) return local; // Redis away: what this replica knows
    // None in Redis: none open, unless this replica opened it while Redis could not take the pin.
    if (value === null) return this.#unshared.where(pool, id, now);
    return { kind: 'pinned', instanceId: value.slice(0, value.lastIndexOf('\n')) };
  }

  async unpin(pool: string, id: string): Promise<void> {
    this.#local.unpin(pool, id);
    this.#unshared.unpin(pool, id);
    await this.#shared((c) => c.del(this.#key(pool, id)));
  }

  async close(): Promise<void> {
    const c = this.#client;
    if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
    else c.disconnect();
  }

  #key(pool: string, id: string): string {
    return `${this.#prefix}${pool}/${id}`;
  }

  /**
   * The command's answer; undefined when Redis cannot be reached. A connection not ready (starting, or
   * reconnecting in the background) is not waited for: a sequence's step would wait on every outage.
   */
  async #shared<T>(command: (c: Redis) => Promise<T>): Promise<T | undefined> {
    if (this.#client.status !== 'ready') return undefined;
    try {
      return await command(this.#client);
    } catch {
      return undefined;
    }
  }
}
