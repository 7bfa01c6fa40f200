import { Pool } from 'undici';
import type { InstanceHealth, InstanceMetadata, LoadReport } from './types.ts';

export interface UpstreamInstanceOptions {
  readonly id: string;
  readonly deployment: string;
  readonly url: string;
  /** Keep-alive connections to this instance. */
  readonly connections?: number;
  /**
   * Longest silence of the instance on a request (before its answer starts, and between two body
   * chunks, i.e. tokens) before the request fails as upstream_timeout and the instance is taken as
   * hung. A body the gateway stopped reading (the client is slow) is not silence. Default 60 s.
   */
  readonly idleTimeoutMs?: number;
}

/** Default longest silence of an instance on a request (see UpstreamInstanceOptions.idleTimeoutMs). */
const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 60_000;

/** Writes to an instance's state: for the InstanceTable, its owner, alone. */
export interface InstanceState {
  setHealth(inst: UpstreamInstance, health: InstanceHealth): void;
  setMetadata(inst: UpstreamInstance, metadata: InstanceMetadata): void;
  setLoad(inst: UpstreamInstance, report: LoadReport): void;
  startRequest(inst: UpstreamInstance): void;
  endRequest(inst: UpstreamInstance): void;
  countHung(inst: UpstreamInstance): void;
  /** The adapters it holds: as its load poll lists them (`all`), or one it was just seen to load. */
  setAdapters(inst: UpstreamInstance, all: readonly string[]): void;
  addAdapter(inst: UpstreamInstance, id: string): void;
}

// Set by UpstreamInstance's static block below, the only code that can reach its private fields. Not
// exported from the folder's index.ts, and lint lets only the registry import it.
export let instanceState: InstanceState;

/**
 * One runtime instance as the gateway sees it: its connection pool, its health, the last load report it
 * sent, and the requests the gateway has in flight to it (counted here, so routing never waits for a poll).
 * The registry changes it (`instanceState`); everyone else reads it and asks the registry.
 */
export class UpstreamInstance {
  readonly id: string;
  readonly deployment: string;
  readonly url: string;
  readonly pool: Pool;
  #health: InstanceHealth = 'starting';
  #load: LoadReport = {};
  /** The last load header taken, parsed when the load is next read (often never, or unchanged). */
  #loadHeader: string | null = null;
  #loadHeaderParsed = true;
  #metadata: InstanceMetadata | null = null;
  #outstanding = 0;
  #hungRequests = 0;
  #adapters: ReadonlySet<string> = new Set();

  static {
    instanceState = {
      setHealth(inst, health) {
        inst.#health = health;
      },
      setMetadata(inst, metadata) {
        inst.#metadata = metadata;
      },
      setLoad(inst, report) {
        inst.#load = report;
        inst.#loadHeader = null;
        inst.#loadHeaderParsed = true;
      },
      startRequest(inst) {
        inst.#outstanding++;
      },
      endRequest(inst) {
        inst.#outstanding--;
      },
      countHung(inst) {
        inst.#hungRequests++;
      },
      setAdapters(inst, all) {
        inst.#adapters = new Set(all);
      },
      addAdapter(inst, id) {
        if (!inst.#adapters.has(id)) inst.#adapters = new Set([...inst.#adapters, id]);
      },
    };
  }

  constructor(o: UpstreamInstanceOptions) {
    this.id = o.id;
    this.deployment = o.deployment;
    this.url = o.url;
    this.pool = new Pool(o.url, {
      connections: o.connections ?? 64,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      // Streams run as long as generation does; only silence ends them (undici does not count the
      // time its body is paused by backpressure).
      bodyTimeout: o.idleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
      headersTimeout: o.idleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
    });
  }

  get health(): InstanceHealth {
    return this.#health;
  }

  get metadata(): InstanceMetadata | null {
    return this.#metadata;
  }

  /** Requests the gateway has sent and not yet seen end. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Requests that timed out on this instance's silence (upstream_timeout). */
  get hungRequests(): number {
    return this.#hungRequests;
  }

  /** Whether it holds adapter `id` (loaded, so a request under it pays no load there). */
  holdsAdapter(id: string): boolean {
    return this.#adapters.has(id);
  }

  get routable(): boolean {
    return this.#health === 'ready' && this.#metadata !== null;
  }

  /** The last load report, from the poller or a response header, whichever came last. */
  get load(): LoadReport {
    if (!this.#loadHeaderParsed) {
      this.#loadHeaderParsed = true;
      try {
        this.#load = JSON.parse(this.#loadHeader!) as LoadReport;
      } catch {
        // A malformed report is ignored; the poller's next one replaces it.
      }
    }
    return this.#load;
  }

  /** Takes the load report carried on a response header, when there is one. */
  noteLoadHeader(value: string | string[] | undefined): void {
    if (typeof value !== 'string' || value === this.#loadHeader) return;
    this.#loadHeader = value;
    this.#loadHeaderParsed = false;
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}
