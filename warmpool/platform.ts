import type { DeploymentSpec } from '../gateway/deployments/index.ts';
import { followSharedRegistry } from '../gateway/instances/follow-shared-registry.ts';
import { type RunningGateway, startGateway, type StartGatewayOptions } from '../gateway/server/index.ts';
import { Controller, type ControllerLoop, type Demand, startControllerLoop } from './controller/index.ts';
import { LocalProvider, type Provider, type ProviderInstance } from './providers/index.ts';
import { createSharedRegistry, type PublishedState, RedisSharedRegistry } from './registry/index.ts';

export interface WarmgateOptions extends Omit<StartGatewayOptions, 'instances' | 'onWait' | 'operations'> {
  /** Where instances run. Default: processes on this host. */
  readonly provider?: Provider;
  /** Controller tick. A request waiting at zero instances triggers one at once. */
  readonly tickMs?: number;
  readonly drainTimeoutMs?: number;
  readonly scaleToZero?: boolean;
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
  const gw = await startGateway({
    ...o,
    onWait: () => loop?.kick(),
    operations: {
      instances: () => controller?.status() ?? [],
      decisions: (deployment) => controller?.decisions(deployment) ?? [],
    },
  });
  // Instances reach routing through the shared registry: in memory for this one gateway, or Redis, where
  // every gateway sharing it follows the same view.
  const shared = createSharedRegistry({ redisUrl: o.redisUrl });
  if (shared instanceof RedisSharedRegistry) await shared.connected();
  const follower = followSharedRegistry(shared, gw.gateway.registry);
  const announce = (i: ProviderInstance, state: PublishedState) =>
    shared
      .publish({ id: i.id, deployment: i.deployment.name, url: i.url, state, updatedAt: Date.now() })
      .catch((e: unknown) => console.error(`instance ${i.id} not announced: ${(e as Error).message}`));
  const provider = o.provider ?? new LocalProvider();
  controller = new Controller({
    deployments: () => gw.deployments.list(),
    demand: (d): Demand => {
      const gate = gw.gateway.context.gate(d.name);
      return {
        inUse: Math.ceil(gate.inFlight / perInstance(d)),
        queued: gate.queued,
        ...(gate.lastRequestAt !== null ? { lastRequestAt: gate.lastRequestAt } : {}),
      };
    },
    provider,
    scaleToZero: o.scaleToZero,
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
  loop = startControllerLoop(controller, {
    intervalMs: o.tickMs ?? 500,
    onError: (e) => console.error('warm-pool controller tick failed', e),
  });
  return {
    url: gw.url,
    gateway: gw,
    controller,
    async close() {
      clearInterval(refresh);
      await loop?.stop();
      await controller?.close();
      await follower.close();
      await shared.close();
      await gw.close();
    },
  };
}
