import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import {
  type FirstTokenSummary,
  type GateDemand,
  mergeFirstTokens,
} from '../../gateway/demand-board/index.ts';

/** A deployment's demand as the gateway sees it. */
export interface Demand {
  /** Instances' worth of work in flight. */
  readonly inUse: number;
  readonly queued: number;
  readonly lastRequestAt?: number;
  /** Requests in flight (the policies count requests, not instances); default inUse. */
  readonly inFlight?: number;
  /** Times to first token at the instances lately, across gateways (capacity at the SLO). */
  readonly firstToken?: FirstTokenSummary;
}

/**
 * Requests one instance can take at once, until measured capacity per instance replaces it: the engine's
 * running-sequence limit, or the tensor batcher's batch.
 */
export function perInstance(d: DeploymentSpec): number {
  return (d.kind === 'generative' ? d.batching?.maxRunningSeqs : d.batching?.maxBatchSize) ?? 32;
}

const NONE: GateDemand = { inFlight: 0, queued: 0 };

/**
 * A deployment's demand from what this process's gateway (`local`) and the other replicas (`remote`,
 * the demand board) report: requests summed, the latest arrival, first tokens merged, and the requests
 * in flight as instances of `perInstance(d)` each.
 */
export function gatewayDemand(
  d: DeploymentSpec,
  local: GateDemand | undefined,
  remote: GateDemand | undefined,
): Demand {
  const l = local ?? NONE;
  const r = remote ?? NONE;
  const last = Math.max(l.lastRequestAt ?? -Infinity, r.lastRequestAt ?? -Infinity);
  const firstToken = mergeFirstTokens(l.firstToken, r.firstToken);
  return {
    inUse: Math.ceil((l.inFlight + r.inFlight) / perInstance(d)),
    inFlight: l.inFlight + r.inFlight,
    queued: l.queued + r.queued,
    ...(last !== -Infinity && { lastRequestAt: last }),
    ...(firstToken && { firstToken }),
  };
}
