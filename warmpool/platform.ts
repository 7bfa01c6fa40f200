import type { DeploymentSpec } from '../gateway/deployments/index.ts';
import type { UpstreamInstance } from '../gateway/instances/index.ts';
import { type RunningGateway, startGateway, type StartGatewayOptions } from '../gateway/server/index.ts';
import { Controller, type ControllerLoop, type Demand, startControllerLoop } from './controller/index.ts';
import { LocalProvider, type Provider } from './providers/index.ts';

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
  const routed = new Map<string, UpstreamInstance>();
  const unroute = (id: string) => {
    const inst = routed.get(id);
    routed.delete(id);
    if (inst) void gw.gateway.registry.remove(inst);
  };
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
        onReady: (i) => {
          void gw.gateway.registry.add(i.deployment.name, i.url).then((inst) => routed.set(i.id, inst));
        },
        onDraining: (i) => unroute(i.id),
        onGone: (i) => unroute(i.id),
      },
    },
  });
  loop = startControllerLoop(controller, {
    intervalMs: o.tickMs ?? 500,
    onError: (e) => console.error('warm-pool controller tick failed', e),
  });
  return {
    url: gw.url,
    gateway: gw,
    controller,
    async close() {
      await loop?.stop();
      await controller.close();
      await gw.close();
    },
  };
}
