import { redisReady } from '../redis/ready.ts';
import { Redis } from 'ioredis';
import type { DeploymentSpec } from './spec.ts';
import { checkVersionedDeployment as checkDeployment } from './versions.ts';
import { byName, type DeploymentStore } from './store.ts';

interface RedisDeploymentCommon {
  /** Default 'warmgate:'; the deployments are the hash `${keyPrefix}deployments`, name → spec JSON. */
  keyPrefix?: string;
  /** How long a call waits for a connection that is not ready. Default 1000 ms. */
  readyTimeoutMs?: number;
  /** Where entries that fail checkDeployment are reported (they are skipped). Default console.warn. */
  warn?: (message: string) => void;
}

/** From a URL (the store owns the client and quits it on close) or from a client the caller owns. */
export type RedisDeploymentOptions = RedisDeploymentCommon &
  ({ url: string; client?: undefined } | { client: Redis; url?: undefined });

const noop = (): void => undefined;

/** Reads and changes again at most this often while other writers keep getting in first. */
const UPDATE_ATTEMPTS = 8;
/** Writes ARGV[3] under ARGV[1] only while the field still holds ARGV[2] (what the change was made from). */
const COMPARE_AND_SET = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SET', KEYS[2], '1')
return 1`;

/**
 * Deployments in one Redis hash, so every gateway sharing the Redis sees the same set. Entries are checked
 * again when read: one written by hand or by an older version is skipped with a warning, not a crash.
 */
export class RedisDeploymentStore implements DeploymentStore {
  readonly key: string;
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #readyTimeoutMs: number;
  readonly #warn: (message: string) => void;

  constructor(options: RedisDeploymentOptions) {
    this.key = `${options.keyPrefix ?? 'warmgate:'}deployments`;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 1000;
    this.#warn = options.warn ?? ((m) => console.warn(m));
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      // Fail fast while disconnected: an admin write should answer 503, not hang in an offline queue.
      this.#client = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      this.#client.on('error', noop); // surfaced by the calls that fail
      this.#ownsClient = true;
    }
  }

  async list(): Promise<DeploymentSpec[]> {
    await redisReady(this.#client, 'deployments', this.#readyTimeoutMs);
    const hash = await this.#client.hgetall(this.key);
    const specs: DeploymentSpec[] = [];
    for (const [name, json] of Object.entries(hash)) {
      const spec = this.#decode(name, json);
      if (spec !== undefined) specs.push(spec);
    }
    return specs.sort(byName);
  }

  async get(name: string): Promise<DeploymentSpec | undefined> {
    await redisReady(this.#client, 'deployments', this.#readyTimeoutMs);
    const json = await this.#client.hget(this.key, name);
    return json === null ? undefined : this.#decode(name, json);
  }

  async put(spec: DeploymentSpec): Promise<void> {
    await redisReady(this.#client, 'deployments', this.#readyTimeoutMs);
    await this.#client.multi().hset(this.key, spec.name, JSON.stringify(spec)).set(this.#marker, '1').exec();
  }

  async update(
    name: string,
    change: (stored: DeploymentSpec) => DeploymentSpec,
  ): Promise<DeploymentSpec | undefined | false> {
    await redisReady(this.#client, 'deployments', this.#readyTimeoutMs);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const json = await this.#client.hget(this.key, name);
      if (json === null) return undefined;
      const stored = this.#decode(name, json);
      if (stored === undefined) return undefined;
      const next = change(stored);
      if (next === stored) return stored;
      const written = await this.#client.eval(
        COMPARE_AND_SET,
        2,
        this.key,
        this.#marker,
        name,
        json,
        JSON.stringify(next),
      );
      if (written === 1) return next;
    }
    return false;
  }

  async delete(name: string): Promise<boolean> {
    await redisReady(this.#client, 'deployments', this.#readyTimeoutMs);
    const r = await this.#client.multi().hdel(this.key, name).set(this.#marker, '1').exec();
    return Number(r?.[0]?.[1] ?? 0) > 0;
  }

  /**
   * False when Redis has lost what was written (restarted without persistence): the marker every write
   * sets is gone. An empty hash with the marker is a store whose deployments were all deleted.
   */
  async intact(): Promise<boolean> {
    await redisReady(this.#client, 'deployments', this.#readyTimeoutMs);
    return (await this.#client.exists(this.#marker)) === 1;
  }

  get #marker(): string {
    return `${this.key}:written`;
  }

  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    const c = this.#client;
    if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
    else c.disconnect();
  }

  #decode(name: string, json: string): DeploymentSpec | undefined {
    try {
      const spec = checkDeployment(JSON.parse(json));
      if (spec.name !== name) throw new Error(`it is named '${spec.name}'`);
      return spec;
    } catch (e) {
      this.#warn(`deployments: skipping '${name}' in Redis hash ${this.key}: ${(e as Error).message}`);
      return undefined;
    }
  }
}
