import { systemClock, unrefTimer } from '../../runtime/time/clock.ts';
import { followSharedRegistry } from '../instances/follow-shared-registry.ts';
import { type RunningGateway, startGateway, type StartGatewayOptions } from './start.ts';
import { DemandBoard, type GateDemand } from '../demand-board/index.ts';
import { versionNumbers, versionPool } from '../deployments/index.ts';
import {
  createSharedRegistry,
  RedisSharedRegistry,
  type SharedInstanceRegistry,
} from '../shared-instance-registry/index.ts';

export interface GatewayReplicaOptions extends StartGatewayOptions {
  /** This replica's name on the demand board. */
  readonly replicaId: string;
  /** The instance registry the controller publishes to. Default: one of its own (Redis or memory). */
  readonly shared?: SharedInstanceRegistry;
  /** With Redis: where this replica's demand is announced. Default: one of its own. */
  readonly board?: DemandBoard | null;
}

export interface RunningGatewayReplica {
  readonly url: string;
  readonly gateway: RunningGateway;
  /** This replica's gates with anything to report, by deployment. */
  localDemand(): Record<string, GateDemand>;
  /** One deployment's gate on this replica. */
  demandOf(deployment: string): GateDemand;
  close(): Promise<void>;
}

/** The first tokens a demand report summarises: enough requests for a p90, recent enough to follow load. */
const FIRST_TOKEN_WINDOW_MS = 10_000;

/**
 * One gateway replica of the platform: the gateway, routing to the instances the controller publishes in
 * the shared registry, and announcing its gates' demand on the board so that whichever controller leads
 * sees it (every 250 ms, and at once when a request starts waiting at zero).
 */
export async function startGatewayReplica(o: GatewayReplicaOptions): Promise<RunningGatewayReplica> {
  const clock = o.clock ?? systemClock;
  const ownBoard =
    o.board === undefined && o.redisUrl
      ? new DemandBoard({ redisUrl: o.redisUrl, replicaId: o.replicaId, clock })
      : null;
  const board = o.board ?? ownBoard;
  let gw: RunningGateway | null = null;
  const demandOf = (deployment: string): GateDemand => {
    const g = gw!.gateway.context.gate(deployment);
    const firstToken = g.firstTokens.summary(clock.now(), FIRST_TOKEN_WINDOW_MS);
    return {
      inFlight: g.inFlight,
      queued: g.queued,
      ...(g.lastRequestAt !== null && { lastRequestAt: g.lastRequestAt }),
      ...(firstToken && { firstToken }),
    };
  };
  const localDemand = (): Record<string, GateDemand> => {
    const out: Record<string, GateDemand> = {};
    for (const d of gw?.deployments.list() ?? []) {
      if (d.kind === 'adapter') continue; // its requests are in its base's gate
      // Each version's requests wait in its own pool's gate (version 1's pool is the deployment's name).
      for (const pool of versionNumbers(d).map((v) => versionPool(d.name, v))) {
        const g = demandOf(pool);
        if (g.inFlight > 0 || g.queued > 0 || g.lastRequestAt !== undefined) out[pool] = g;
      }
    }
    return out;
  };
  gw = await startGateway({
    ...o,
    clock,
    onWait: (model) => {
      o.onWait?.(model);
      board?.announce(localDemand());
    },
  });
  const announcing = board && unrefTimer(clock.setInterval(() => board.announce(localDemand()), 250));
  const ownShared = o.shared ? null : createSharedRegistry({ redisUrl: o.redisUrl, clock });
  const shared = o.shared ?? ownShared!;
  if (ownShared instanceof RedisSharedRegistry) await ownShared.connected();
  const follower = followSharedRegistry(shared, gw.gateway.registry, { clock });
  const running = gw;
  return {
    url: running.url,
    gateway: running,
    localDemand,
    demandOf,
    async close() {
      if (announcing) clock.clearInterval(announcing);
      running.gateway.stopAccepting();
      await follower.close();
      await ownShared?.close();
      await ownBoard?.close();
      await running.close();
    },
  };
}
