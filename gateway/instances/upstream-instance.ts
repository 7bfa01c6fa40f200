import { Pool } from 'undici';
import type { InstanceHealth, InstanceMetadata, LoadReport } from './types.ts';

export interface UpstreamInstanceOptions {
  readonly id: string;
  readonly deployment: string;
  readonly url: string;
  /** Keep-alive connections to this instance. */
  readonly connections?: number;
}

/**
 * One runtime instance as the gateway sees it: its connection pool, its health, the last load report it
 * sent, and the requests the gateway has in flight to it (counted here, so routing never waits for a poll).
 */
export class UpstreamInstance {
  readonly id: string;
  readonly deployment: string;
  readonly url: string;
  readonly pool: Pool;
  health: InstanceHealth = 'starting';
  load: LoadReport = {};
  metadata: InstanceMetadata | null = null;
  /** Requests the gateway has sent and not yet seen end. */
  outstanding = 0;

  constructor(o: UpstreamInstanceOptions) {
    this.id = o.id;
    this.deployment = o.deployment;
    this.url = o.url;
    this.pool = new Pool(o.url, {
      connections: o.connections ?? 64,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      // Streams run as long as generation does; the gateway's own deadlines bound them.
      bodyTimeout: 0,
      headersTimeout: 300_000,
    });
  }

  get routable(): boolean {
    return this.health === 'ready' && this.metadata !== null;
  }

  /** Takes the load report carried on a response header, when there is one. */
  noteLoadHeader(value: string | string[] | undefined): void {
    if (typeof value !== 'string') return;
    try {
      this.load = JSON.parse(value) as LoadReport;
    } catch {
      // A malformed report is ignored; the poller's next one replaces it.
    }
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}
