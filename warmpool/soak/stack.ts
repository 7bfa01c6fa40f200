import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { launchRedis, type LaunchedRedis } from '../../gateway/bench/redis-launcher.ts';
import { type RunningWarmgate, startWarmgate } from '../platform.ts';
import { sampleInstances, socketsByPeer } from './probes.ts';

export interface StackOptions {
  readonly deployment: DeploymentSpec;
  /** Gives up waiting for the first instance. */
  readonly signal: AbortSignal;
  readonly readyTimeoutMs?: number;
}

export interface SoakInstance {
  readonly id: string;
  readonly url: string;
  readonly state: string;
}

/** The whole platform in this process over a redis-server of its own, with the probes the soak reads. */
export interface Stack {
  readonly url: string;
  readonly redisUrl: string;
  readonly platform: RunningWarmgate;
  /** Instances the controller knows with a URL. */
  instances(): SoakInstance[];
  /** Until no instance has a request in flight (at most 60 s), then `quietMs` for idle sockets to close. */
  settle(quietMs: number): Promise<void>;
  /** This process's TCP sockets by peer: redis, an instance, a client of the gateway. */
  sockets(): Record<string, number>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const portOf = (url: string) => Number(new URL(url).port);

export async function startStack(o: StackOptions): Promise<Stack> {
  let redis: LaunchedRedis | null = null;
  let platform: RunningWarmgate | null = null;
  try {
    redis = await launchRedis();
    platform = await startWarmgate({
      port: 0,
      host: '127.0.0.1',
      redisUrl: redis.url,
      deployments: [o.deployment],
    });
    const registry = platform.gateway.gateway.registry;
    const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
    while (registry.routable(o.deployment.name).length === 0) {
      const failure = platform.controller.status().find((s) => s.lastFailure)?.lastFailure;
      if (failure) throw new Error(`no instance came up: ${failure.reason}`);
      if (o.signal.aborted) throw new Error('interrupted while the first instance started');
      if (Date.now() > deadline) throw new Error('no instance came up in time');
      await sleep(100);
    }
  } catch (e) {
    await platform?.close();
    await redis?.stop();
    throw e;
  }
  const wg = platform;
  const launched = redis;
  const instances = () =>
    wg.controller
      .status()
      .flatMap((s) => s.instances)
      .flatMap((i) => (i.url ? [{ id: i.id, url: i.url, state: i.state }] : []));
  return {
    url: wg.url,
    redisUrl: launched.url,
    platform: wg,
    instances,
    async settle(quietMs) {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const s = await sampleInstances(instances());
        if (s.every((i) => (i.report?.outstanding ?? 0) === 0)) break;
        await sleep(200);
      }
      await sleep(quietMs);
    },
    sockets: () =>
      socketsByPeer(
        new Map([
          [portOf(launched.url), 'redis'],
          ...instances().map((i) => [portOf(i.url), `instance ${i.id}`] as [number, string]),
        ]),
        new Map([[portOf(wg.url), 'client (inbound)']]),
      ),
    async close() {
      try {
        await wg.close();
      } finally {
        await launched.stop();
      }
    },
  };
}
