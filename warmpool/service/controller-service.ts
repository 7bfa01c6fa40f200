import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import type { HistoryStore } from '../../gateway/request-history/index.ts';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import {
  Controller,
  type ControllerLoop,
  gatewayDemand,
  LeadingController,
  perInstance,
  startControllerLoop,
} from '../controller/index.ts';
import type { DemandBoard, GateDemand } from '../../gateway/demand-board/index.ts';
import { type DemandFeed, MemoryDemandFeed, RedisDemandFeed } from '../demand-feed/index.ts';
import { LeaderElector, RedisLease } from '../leader/index.ts';
import type { PolicyName } from '../policies/index.ts';
import type { Provider, ProviderInstance } from '../providers/index.ts';
import type { PublishedState, SharedInstanceRegistry } from '../../gateway/shared-instance-registry/index.ts';

export interface ControllerServiceOptions {
  /** The deployments to keep warm (a registry following the shared store). */
  readonly deployments: () => DeploymentSpec[];
  readonly provider: Provider;
  /** Where ready and draining instances are published for the gateways. */
  readonly shared: SharedInstanceRegistry;
  /** With Redis: the lease, the demand board and the history feed live there. */
  readonly redisUrl?: string;
  /** The gateway replicas' demand (Redis only). */
  readonly board?: DemandBoard | null;
  /** This process's own gateway gates, when it runs one. */
  readonly localDemand?: (deployment: string) => GateDemand | undefined;
  /** Without Redis: the request history the policies read (the in-process gateway's store). */
  readonly history?: HistoryStore;
  readonly tickMs?: number;
  readonly drainTimeoutMs?: number;
  readonly scaleToZero?: boolean;
  readonly leaseTtlMs?: number;
  readonly replicaId?: string;
  readonly policy?: PolicyName;
  /** Failed /live probes in a row after which a ready instance is replaced. Default 3. */
  readonly unresponsiveLimit?: number;
  /** The controller's ticks, its pools' stamps and the registry's refresh. Default systemClock. */
  readonly clock?: Clock;
}

export interface ControllerStatus {
  readonly leading: boolean;
  readonly holderId: string;
  readonly token?: number;
}

export interface RunningControllerService {
  readonly controller: Controller;
  readonly holderId: string;
  /** Ticks now (a request is waiting at zero instances). */
  kick(): void;
  status(): ControllerStatus;
  /**
   * Stops the loop and steps down. By default it drains this replica's instances first; with
   * `{ leaveInstances: true }` (runtime pods that outlive the controller) it lets go of them untouched,
   * and the next leader adopts them.
   */
  close(o?: { leaveInstances?: boolean }): Promise<void>;
}

/**
 * The warm-pool controller as a service: its loop, the leader election that lets one of several replicas
 * act (with Redis), the history feed its policies read, and the publishing of its instances to the
 * shared registry. The scaling decisions themselves are the Controller's (warmpool/controller).
 */
export function startControllerService(o: ControllerServiceOptions): RunningControllerService {
  const clock = o.clock ?? systemClock;
  let loop: ControllerLoop | null = null;
  const holderId = o.replicaId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // The request history every gateway writes is what the policies decide from, read back through a feed
  // (Redis: one round trip per tick for every deployment).
  const feed: DemandFeed = o.redisUrl
    ? new RedisDemandFeed({ url: o.redisUrl })
    : new MemoryDemandFeed({ store: o.history! });
  const announce = (i: ProviderInstance, state: PublishedState) =>
    o.shared
      .publish({ id: i.id, deployment: i.deployment.name, url: i.url, state, updatedAt: clock.now() })
      .catch((e: unknown) => console.error(`instance ${i.id} not announced: ${(e as Error).message}`));
  const controller = new Controller({
    deployments: o.deployments,
    demand: (d) => gatewayDemand(d, o.localDemand?.(d.name), o.board?.remote(d.name)),
    provider: o.provider,
    clock,
    scaleToZero: o.scaleToZero,
    feed,
    defaultPolicy: o.policy ?? 'predictive',
    tickMs: o.tickMs ?? 500,
    capacityOf: perInstance,
    pool: {
      drainTimeoutMs: o.drainTimeoutMs,
      unresponsiveLimit: o.unresponsiveLimit,
      hooks: {
        onReady: (i) => void announce(i, 'ready'),
        onDraining: (i) => void announce(i, 'draining'),
        onGone: (i) => void o.shared.remove(i.id).catch(() => {}),
      },
    },
  });
  // Entries expire unless re-announced: the ready instances are announced again every few seconds.
  // (The loop's own timer keeps the process alive until close(), which clears both.)
  const refresh = clock.setInterval(() => {
    for (const pool of controller.status()) {
      for (const i of pool.instances) {
        if ((i.state === 'ready-idle' || i.state === 'serving') && i.url) {
          void o.shared
            .publish({
              id: i.id,
              deployment: pool.deployment,
              url: i.url,
              state: 'ready',
              updatedAt: clock.now(),
            })
            .catch(() => {});
        }
      }
    }
  }, 3000);
  // With Redis, every replica runs a controller and one leads (a lease with fencing tokens); alone, this
  // one leads. Either way the first tick of a term adopts what the provider runs.
  let elector: LeaderElector | null = null;
  let lease: RedisLease | null = null;
  const leading = new LeadingController(controller, () => elector === null || elector.leading() !== null);
  if (o.redisUrl) {
    const ttlMs = o.leaseTtlMs ?? 3000;
    lease = new RedisLease({ url: o.redisUrl, key: 'wg:warmpool:leader', ttlMs, clock });
    elector = new LeaderElector({
      lease,
      holderId,
      retryMs: Math.max(100, Math.floor(ttlMs / 3)),
      timers: clock, // its `now` stays monotonic (performance.now): only durations matter to a lease
      onElected: () => {
        leading.elected();
        loop?.kick();
      },
      onLost: () => loop?.kick(), // the tick lets go of the pools
    });
  }
  loop = startControllerLoop(leading, {
    intervalMs: o.tickMs ?? 500,
    clock,
    onError: (e) => console.error('warm-pool controller tick failed', e),
  });
  elector?.start();
  return {
    controller,
    holderId,
    kick: () => loop?.kick(),
    status() {
      const term = elector ? elector.leading() : { token: 0 };
      return { leading: term !== null, holderId, ...(term && elector && { token: term.token }) };
    },
    async close(c = {}) {
      clock.clearInterval(refresh);
      await loop?.stop();
      // Stepping down after the drain: a follower takes over only once this replica's instances are gone.
      if (c.leaveInstances) controller.forget();
      else await controller.close();
      await feed.close();
      await elector?.stop();
      await lease?.close();
      await o.provider.close?.(); // its standbys; the pools have drained the instances
    },
  };
}
