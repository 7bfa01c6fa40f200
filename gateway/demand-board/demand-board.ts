import { Redis } from 'ioredis';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import { keepSubscribed, openSubscriber } from '../redis/subscriber.ts';

/** One gateway's view of one deployment: requests being served, waiting, and the last arrival. */
export interface GateDemand {
  readonly inFlight: number;
  readonly queued: number;
  readonly lastRequestAt?: number;
  /** Times to first token at the instances over the last few seconds (capacity at the SLO). */
  readonly firstToken?: FirstTokenSummary;
}

export interface FirstTokenSummary {
  readonly count: number;
  readonly p90Ms: number;
}

/** Several gateways' summaries as one: the slowest p90 (what the SLO is held to), the samples summed. */
export function mergeFirstTokens(
  a: FirstTokenSummary | undefined,
  b: FirstTokenSummary | undefined,
): FirstTokenSummary | undefined {
  if (!a || !b) return a ?? b;
  return { count: a.count + b.count, p90Ms: Math.max(a.p90Ms, b.p90Ms) };
}

interface Announcement {
  readonly replica: string;
  readonly at: number;
  readonly gates: Readonly<Record<string, GateDemand>>;
}

export interface DemandBoardOptions {
  readonly redisUrl: string;
  readonly replicaId: string;
  /** Announcements older than this are ignored (a replica that stopped announcing). Default 2000 ms. */
  readonly staleMs?: number;
  /** Called when another replica announces waiting requests: the leader should tick now. */
  readonly onRemoteWait?: () => void;
  /** Default systemClock. */
  readonly clock?: Clock;
  readonly channel?: string;
}

/**
 * What the other gateway replicas see, for the leading controller: each replica publishes its gates'
 * demand on a Redis channel (periodically, and at once when a request starts waiting at zero); every
 * replica keeps the latest announcement of each other one. Pub/sub, not keys: nothing to expire, and a
 * replica that dies simply goes stale.
 */
export class DemandBoard {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #o: DemandBoardOptions;
  readonly #clock: Clock;
  readonly #channel: string;
  readonly #latest = new Map<string, Announcement>();

  constructor(o: DemandBoardOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#channel = o.channel ?? 'wg:warmpool:demand';
    const connect = () => {
      const c = new Redis(o.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
      c.on('error', () => undefined); // an outage only makes announcements stale
      return c;
    };
    this.#pub = connect();
    this.#sub = openSubscriber(o.redisUrl);
    void keepSubscribed(this.#sub, this.#channel);
    this.#sub.on('message', (_channel: string, text: string) => this.#receive(text));
  }

  /** Publishes this replica's gates (only those with something to say). Never throws. */
  announce(gates: Readonly<Record<string, GateDemand>>): void {
    const a: Announcement = { replica: this.#o.replicaId, at: this.#clock.now(), gates };
    this.#pub.publish(this.#channel, JSON.stringify(a)).catch(() => undefined);
  }

  /** The other replicas' demand for a deployment, summed over fresh announcements. */
  remote(deployment: string): GateDemand {
    const fresh = this.#clock.now() - (this.#o.staleMs ?? 2000);
    let inFlight = 0;
    let queued = 0;
    let last: number | undefined;
    let firstToken: FirstTokenSummary | undefined;
    for (const a of this.#latest.values()) {
      const g = a.gates[deployment];
      if (a.at < fresh || !g) continue;
      inFlight += g.inFlight;
      queued += g.queued;
      if (g.lastRequestAt !== undefined) last = Math.max(last ?? 0, g.lastRequestAt);
      firstToken = mergeFirstTokens(firstToken, g.firstToken);
    }
    return {
      inFlight,
      queued,
      ...(last !== undefined && { lastRequestAt: last }),
      ...(firstToken && { firstToken }),
    };
  }

  async close(): Promise<void> {
    this.#pub.disconnect();
    this.#sub.disconnect();
  }

  #receive(text: string): void {
    let a: Announcement;
    try {
      a = JSON.parse(text) as Announcement;
    } catch {
      return;
    }
    if (typeof a?.replica !== 'string' || a.replica === this.#o.replicaId || typeof a.gates !== 'object')
      return;
    this.#latest.set(a.replica, a);
    if (Object.values(a.gates).some((g) => g.queued > 0)) this.#o.onRemoteWait?.();
  }
}
