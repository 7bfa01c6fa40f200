import type { AdminOperations } from '../gateway/admin/index.ts';
import { createHistoryStore } from '../gateway/request-history/index.ts';
import {
  type RunningGateway,
  type StartGatewayOptions,
  startGatewayReplica,
} from '../gateway/server/index.ts';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { systemClock } from '../runtime/time/clock.ts';
import type { Controller } from './controller/index.ts';
import { DemandBoard } from '../gateway/demand-board/index.ts';
import type { PolicyName } from './policies/index.ts';
import { LocalProvider, type Provider } from './providers/index.ts';
import { createSharedRegistry, RedisSharedRegistry } from '../gateway/shared-instance-registry/index.ts';
import { type RunningControllerService, startControllerService } from './service/controller-service.ts';

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
 * The platform in one process: a gateway replica (gateway/server/replica.ts) and the warm-pool controller
 * service (service/controller-service.ts) starting and stopping runtime instances through the provider.
 * With Redis, several of these processes share the work: every one serves requests, one leads the
 * controller. On Kubernetes the two halves run as separate processes (gateway/main.ts, warmpool/main.ts).
 */
export async function startWarmgate(o: WarmgateOptions): Promise<RunningWarmgate> {
  let service: RunningControllerService | null = null;
  const operations: AdminOperations = {
    instances: () => service?.controller.status() ?? [],
    decisions: (deployment) => service?.controller.decisions(deployment) ?? [],
    logs: (instance, lines) => service?.controller.logs(instance, lines),
    controller: () => service?.status() ?? { leading: false, holderId: '' },
    timeline: (deployment, sinceMs) => service?.controller.timeline(deployment, sinceMs),
  };
  const clock = o.clock ?? systemClock;
  const replicaId = o.replicaId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const board = o.redisUrl
    ? new DemandBoard({ redisUrl: o.redisUrl, replicaId, onRemoteWait: () => service?.kick(), clock })
    : null;
  const history = o.history ?? createHistoryStore({ redisUrl: o.redisUrl, clock });
  // Instances reach routing through the shared registry: in memory for this one gateway, or Redis, where
  // every gateway sharing it follows the same view.
  const shared = createSharedRegistry({ redisUrl: o.redisUrl, clock });
  if (shared instanceof RedisSharedRegistry) await shared.connected();
  const replica = await startGatewayReplica({
    ...o,
    clock,
    replicaId,
    history,
    shared,
    board,
    onWait: () => service?.kick(),
    operations,
  });
  const gw = replica.gateway;
  const provider =
    o.provider ??
    new LocalProvider({ clock, ...(o.instanceStateDir !== undefined && { stateDir: o.instanceStateDir }) });
  service = startControllerService({
    deployments: () => gw.deployments.list(),
    provider,
    shared,
    redisUrl: o.redisUrl,
    board,
    localDemand: replica.demandOf,
    history,
    tickMs: o.tickMs,
    drainTimeoutMs: o.drainTimeoutMs,
    scaleToZero: o.scaleToZero,
    leaseTtlMs: o.leaseTtlMs,
    replicaId,
    policy: o.policy,
    clock,
  });
  const running = service;
  // An instance the gateway found silent past the upstream idle timeout is replaced at once (a controller
  // in a process of its own finds it through failed /live probes instead).
  gw.gateway.registry.on('hung', (i: { url: string }) =>
    running.controller.recycle(i.url, 'no token within the upstream idle timeout'),
  );
  return {
    url: gw.url,
    gateway: gw,
    controller: running.controller,
    async close() {
      gw.gateway.stopAccepting();
      await running.close();
      await board?.close();
      await replica.close();
      await shared.close();
    },
  };
}
