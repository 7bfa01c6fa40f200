import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import {
  type HistoryReader,
  instancesFor,
  type Policy,
  type PolicyConfig,
  type PoolState,
} from '../policies/index.ts';
import type { Target } from './target.ts';

/** What a policy is told about a deployment beyond its history: measured where the controller can. */
export interface Measured {
  /** Median of the deployment's recent cold starts (request → ready). */
  readonly coldStartMs: number;
  /** Mean time a request spends in flight (Little's law over recent history). */
  readonly serviceMs: number;
  /** Concurrent requests one instance serves within the SLO. */
  readonly capacityPerInstance: number;
  /** Set when that capacity was measured below the instances' own limit (TTFT over the SLO). */
  readonly boundBySlo?: boolean;
}

export interface PolicyTargetInput {
  readonly spec: DeploymentSpec;
  readonly policy: Policy;
  readonly history: HistoryReader;
  readonly pool: PoolState;
  readonly measured: Measured;
  readonly tickMs: number;
  readonly now: number;
  /** Whether an idle deployment with minInstances 0 may go to zero. */
  readonly scaleToZero: boolean;
  /**
   * A request arrived after what the history holds (it runs a settle delay behind): the policy has not
   * seen it, so this tick does not scale down.
   */
  readonly unseenArrival?: boolean;
}

export function policyConfig(
  i: Omit<PolicyTargetInput, 'policy' | 'history' | 'pool' | 'now' | 'scaleToZero'>,
): PolicyConfig {
  const s = i.spec.scaling;
  return {
    coldStartMs: i.measured.coldStartMs,
    capacityPerInstance: i.measured.capacityPerInstance,
    serviceMs: i.measured.serviceMs,
    minInstances: s.minInstances,
    maxInstances: s.maxInstances,
    tickMs: i.tickMs,
    // The deployment's keep-alive is the keep-alive policy's knob, its cold-start cost the costaware
    // policy's; its own knobs override.
    knobs: {
      keepAliveMs: s.keepAliveMs,
      ...(typeof s.coldStartCost === 'number' && { coldStartCost: s.coldStartCost }),
      ...s.knobs,
    },
  };
}

/**
 * The policy's decision, held to what the deployment declares whatever the policy says: at least
 * minInstances, at least one while requests wait (a deployment at zero scales up at once), the warm
 * buffer above what is in use while there is demand, one kept when scale-to-zero is off; at most
 * maxInstances.
 */
export function policyTarget(i: PolicyTargetInput): Target {
  const s = i.spec.scaling;
  const d = i.policy.decide({ config: policyConfig(i), history: i.history, pool: i.pool, now: i.now });
  const demand = i.pool.inFlight + i.pool.queued;
  const cfg = { capacityPerInstance: i.measured.capacityPerInstance } as PolicyConfig;
  const floors: [number, string][] = [
    [s.minInstances, `min ${s.minInstances}`],
    [i.pool.queued > 0 ? 1 : 0, `${i.pool.queued} waiting`],
    [demand > 0 ? instancesFor(demand, cfg) + s.warmBuffer : 0, `in use + buffer ${s.warmBuffer}`],
    [i.scaleToZero ? 0 : Math.max(1, s.warmBuffer), 'scale-to-zero off'],
    [i.unseenArrival ? i.pool.instances : 0, 'an arrival the history has not seen yet'],
  ];
  let desired = d.desired;
  let why = '';
  for (const [floor, what] of floors) {
    if (floor > desired) {
      desired = floor;
      why = `; raised to ${floor} (${what})`;
    }
  }
  if (desired > s.maxInstances) {
    desired = s.maxInstances;
    why += `; capped at max ${s.maxInstances}`;
  }
  if (i.measured.boundBySlo) {
    why += `; capacity ${i.measured.capacityPerInstance.toFixed(1)} per instance at the TTFT SLO`;
  }
  // Policies that already name themselves in their reason are not named twice.
  const named = d.reason.startsWith(i.policy.name) ? d.reason : `${i.policy.name}: ${d.reason}`;
  return { desired: Math.max(0, desired), reason: `${named}${why}` };
}
