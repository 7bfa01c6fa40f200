import type { Policy } from './types.ts';
import { costaware } from './costaware.ts';
import { histogram } from './histogram.ts';
import { keepalive } from './keepalive.ts';
import { predictive } from './predictive.ts';
import { reactive } from './reactive.ts';
import { tuned } from './tuned.ts';

export type { Policy, PolicyConfig, PolicyDecision, PolicyInput, PoolState } from './types.ts';
export { DemandHistory, type HistoryOptions, type HistoryReader } from './demand-history.ts';
export { clampInstances, concurrencyOf, instancesFor } from './capacity.ts';

export type PolicyName = 'reactive' | 'keepalive' | 'histogram' | 'predictive' | 'costaware' | 'tuned';

/** Every scaling policy by name; the controller and the simulator call the same ones. */
export const POLICIES: Readonly<Record<PolicyName, Policy>> = Object.freeze({
  reactive,
  keepalive,
  histogram,
  predictive,
  costaware,
  tuned,
});

/** The policy called `name`; a RangeError names the ones there are. */
export function policyNamed(name: string): Policy {
  if (Object.hasOwn(POLICIES, name)) return POLICIES[name as PolicyName];
  throw new RangeError(`unknown policy "${name}"; policies: ${Object.keys(POLICIES).join(', ')}`);
}
