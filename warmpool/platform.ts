import type { AdminOperations } from '../gateway/admin/index.ts';
import type { DeploymentSpec } from '../gateway/deployments/index.ts';
import { followSharedRegistry } from '../gateway/instances/follow-shared-registry.ts';
import { type RunningGateway, startGateway, type StartGatewayOptions } from '../gateway/server/index.ts';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Controller,
  type ControllerLoop,
  type Demand,
  LeadingController,
  startControllerLoop,
} from './controller/index.ts';
import { createHistoryStore } from '../gateway/history/index.ts';
import { DemandBoard, type GateDemand } from './demand/index.ts';
import { type DemandFeed, MemoryDemandFeed, RedisDemandFeed } from './history-feed/index.ts';
import type { PolicyName } from './policies/index.ts';
import { LeaderElector, RedisLease } from './leader/index.ts';
import { LocalProvider, type Provider, type ProviderInstance } from './providers/index.ts';
import { createSharedRegistry, type PublishedState, RedisSharedRegistry } from './registry/index.ts';

export interface WarmgateOptions extends Omit<StartGatewayOptions, 'instances' | 'onWait' | 'operations'> {
  /** Where instances run. Default: processes on this host. */
  readonly provider?: Provider;
  /** Controller tick. A request waiting at zero instances triggers one at once. */
  readonly tickMs?: number;
  readonly drainTimeoutMs?: number;
  readonly scaleToZero?: boolean;
  /**
   * For the default local provider: where instances leave records so that the next controller on this
   * host adopts them (see LocalProviderOptions.stateDir). Default: none.
   */
  readonly instanceStateDir?: string;
  /** With Redis: the controller lease's TTL; a dead leader is replaced after about this long. Default 3000 ms. */
  readonly leaseTtlMs?: number;
  /** With Redis: this replica's name in the election. Default host:pid:random. */
  readonly replicaId?: string;
  /** Scaling policy of deployments that name none (warmpool/policies). Default 'predictive'. */
  readonly policy?: PolicyName;
}

export interface RunningWarmgate {
  readonly url: string;
  readonly gateway: RunningGateway;
  readonly controller: Controller;
  close(): Promise<void>;
}

/**
 * Requests one instance can take at once, until measured capacity per instance replaces it: the engine's
 * running-sequence limit, or the tensor batcher's batch.
 */
function perInstance(d: DeploymentSpec): number {
  return (d.kind === 'generative' ? d.batching?.maxRunningSeqs : d.batching?.maxBatchSize) ?? 32;
}

/**
 * The platform in one process: the gateway, and the warm-pool controller starting and stopping runtime
 * instances through the provider. Instances the pools bring up are routed to as soon as they are ready;
 * a draining or gone one leaves routing at once.
 */
export async function startWarmgate(o: WarmgateOptions): Promise<RunningWarmgate> {
  let loop: ControllerLoop | null = null;
  let controller: Controller | null = null;
  const gwOperations: AdminOperations = {
    instances: () => controller?.status() ?? [],
    decisions: (deployment) => controller?.decisions(deployment) ?? [],
  };
  const holderId = o.replicaId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // With Redis, other gateway replicas' demand reaches whichever controller leads through a board.
  const board = o.redisUrl
    ? new DemandBoard({ redisUrl: o.redisUrl, replicaId: holderId, onRemoteWait: () => loop?.kick() })
    : null;
  // The request history every gateway writes is what the policies decide from: the controller reads it
  // back through a feed (Redis: one round trip per tick for every deployment).
  const history = o.history ?? createHistoryStore({ redisUrl: o.redisUrl });
  const feed: DemandFeed = o.redisUrl
    ? new RedisDemandFeed({ url: o.redisUrl })
    : new MemoryDemandFeed({ store: history });
  const gw = await startGateway({
    ...o,
    history,
    onWait: () => {
      loop?.kick();
      board?.announce(localDemand());
    },
    operations: gwOperations,
  });
  /** This replica's gates with anything to report. */
  const localDemand = (): Record<string, GateDemand> => {
    const out: Record<string, GateDemand> = {};
    for (const d of gw.deployments.list()) {
      const g = gw.gateway.context.gate(d.name);
      if (g.inFlight === 0 && g.queued === 0 && g.lastRequestAt === null) continue;
      out[d.name] = {
        inFlight: g.inFlight,
        queued: g.queued,
        ...(g.lastRequestAt !== null && { lastRequestAt: g.lastRequestAt }),
      };
    }
    return out;
  };
  const announcing = board && setInterval(() => board.announce(localDemand()), 250);
  announcing?.unref();
  // Instances reach routing through the shared registry: in memory for this one gateway, or Redis, where
  // every gateway sharing it follows the same view.
  const shared = createSharedRegistry({ redisUrl: o.redisUrl });
  if (shared instanceof RedisSharedRegistry) await shared.connected();
  const follower = followSharedRegistry(shared, gw.gateway.registry);
  const announce = (i: ProviderInstance, state: PublishedState) =>
    shared
      .publish({ id: i.id, deployment: i.deployment.name, url: i.url, state, updatedAt: Date.now() })
      .catch((e: unknown) => console.error(`instance ${i.id} not announced: ${(e as Error).message}`));
  const provider =
    o.provider ?? new LocalProvider(o.instanceStateDir !== undefined ? { stateDir: o.instanceStateDir } : {});
  controller = new Controller({
    deployments: () => gw.deployments.list(),
    demand: (d): Demand => {
      const gate = gw.gateway.context.gate(d.name);
      const remote = board?.remote(d.name) ?? { inFlight: 0, queued: 0 };
      const last = Math.max(gate.lastRequestAt ?? -Infinity, remote.lastRequestAt ?? -Infinity);
      return {
        inUse: Math.ceil((gate.inFlight + remote.inFlight) / perInstance(d)),
        inFlight: gate.inFlight + remote.inFlight,
        queued: gate.queued + remote.queued,
        ...(last !== -Infinity && { lastRequestAt: last }),
      };
    },
    provider,
    scaleToZero: o.scaleToZero,
    feed,
    defaultPolicy: o.policy ?? 'predictive',
    tickMs: o.tickMs ?? 500,
    capacityOf: perInstance,
    pool: {
      drainTimeoutMs: o.drainTimeoutMs,
      hooks: {
        onReady: (i) => void announce(i, 'ready'),
        onDraining: (i) => void announce(i, 'draining'),
        onGone: (i) => void shared.remove(i.id).catch(() => {}),
      },
    },
  });
  // Entries expire unless re-announced: the ready instances are announced again every few seconds.
  const refresh = setInterval(() => {
    for (const pool of controller?.status() ?? []) {
      for (const i of pool.instances) {
        if ((i.state === 'ready-idle' || i.state === 'serving') && i.url) {
          void shared
            .publish({
              id: i.id,
              deployment: pool.deployment,
              url: i.url,
              state: 'ready',
              updatedAt: Date.now(),
            })
            .catch(() => {});
        }
      }
    }
  }, 3000);
  refresh.unref();
  // With Redis, every gateway replica runs a controller and one leads (a lease with fencing tokens);
  // alone, this one leads. Either way the first tick of a term adopts what the provider runs.
  let elector: LeaderElector | null = null;
  let lease: RedisLease | null = null;
  const leading = new LeadingController(controller, () => elector === null || elector.leading() !== null);
  if (o.redisUrl) {
    elector = new LeaderElector({
      lease: (lease = new RedisLease({
        url: o.redisUrl,
        key: 'wg:warmpool:leader',
        ttlMs: o.leaseTtlMs ?? 3000,
      })),
      holderId,
      retryMs: Math.max(100, Math.floor((o.leaseTtlMs ?? 3000) / 3)),
      onElected: () => {
        leading.elected();
        loop?.kick();
      },
      onLost: () => loop?.kick(), // the tick lets go of the pools
    });
  }
  gwOperations.controller = () => {
    const term = elector ? elector.leading() : { token: 0 };
    return { leading: term !== null, holderId, ...(term && elector && { token: term.token }) };
  };
  loop = startControllerLoop(leading, {
    intervalMs: o.tickMs ?? 500,
    onError: (e) => console.error('warm-pool controller tick failed', e),
  });
  elector?.start();
  return {
    url: gw.url,
    gateway: gw,
    controller,
    async close() {
      clearInterval(refresh);
      if (announcing) clearInterval(announcing);
      await loop?.stop();
      // Stepping down first: a follower takes over only after this replica's instances are drained.
      await controller?.close();
      await feed.close();
      await elector?.stop();
      await lease?.close();
      await board?.close();
      await provider.close?.(); // its standbys; the pools have drained the instances
      await follower.close();
      await shared.close();
      await gw.close();
    },
  };
}
