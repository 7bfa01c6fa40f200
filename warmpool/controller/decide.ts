import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { type HistoryReader, type PolicyName, policyNamed } from '../policies/index.ts';
import { forecastFor } from '../policies/demand-forecast.ts';
import type { InstanceState } from '../lifecycle/index.ts';
import { declaredTarget } from './declared-target.ts';
import type { Demand } from './demand.ts';
import {
  measuredAt,
  type MeasuredState,
  unmeasured,
  withColdStarts,
  withFirstTokens,
  withInFlight,
} from './measured.ts';
import { policyTarget } from './policy-target.ts';

/** How the controller decides, the same for every deployment and every tick. */
export interface DeciderConfig {
  /** Whether idle deployments with minInstances 0 may go to zero. */
  readonly scaleToZero: boolean;
  /** The loop's tick, told to the policies (they look this far ahead). */
  readonly tickMs: number;
  /** For a deployment that names no policy. */
  readonly defaultPolicy: PolicyName;
}

/** What decide() carries for one deployment from one tick to the next. */
export interface DeciderState {
  readonly config: DeciderConfig;
  readonly measured: MeasuredState;
}

export function initialDeciderState(
  config: DeciderConfig,
  defaults: { coldStartMs: number; serviceMs: number },
): DeciderState {
  return { config, measured: unmeasured(defaults) };
}

/** One deployment as the controller saw it this tick, read before deciding. */
export interface Observations {
  /** The deployment as declared now. */
  readonly spec: DeploymentSpec;
  readonly demand: Demand;
  readonly pool: {
    /** Instances that count towards desired: neither draining nor ended. */
    readonly actual: number;
    readonly instances: readonly {
      readonly id: string;
      readonly state: InstanceState;
      readonly coldStartMs?: number;
    }[];
  };
  /**
   * The deployment's request history, complete before `readThrough` (the feed's last successful read).
   * Absent until there is one: the declared target decides.
   */
  readonly history?: { readonly reader: HistoryReader; readonly readThrough: number };
  /** Concurrent requests per instance at most (its batch), when the spec declares no capacity. */
  readonly capacityCeiling: number;
}

export interface ScalingDecision {
  readonly desired: number;
  readonly reason: string;
  /**
   * Arrivals the demand forecast expects per minute at `now` (its level for the current coarse bucket),
   * whichever policy decides; absent without a history. Shown on the status page and exported.
   */
  readonly forecastPerMin?: number;
  /** The state to decide the next tick from. */
  readonly next: DeciderState;
}

const isReady = (s: InstanceState) => s === 'ready-idle' || s === 'serving';

/**
 * Where a deployment's desired instances are decided, once per tick: its scaling policy
 * (warmpool/policies) over its request history, held to what the deployment declares
 * (policy-target.ts); without a history yet, the declared target alone (declared-target.ts). What it
 * measures on the way (cold starts, time in flight, capacity at the TTFT SLO) comes back in `next`.
 *
 * Pure: no clock (`now` is passed in), no I/O, its inputs left as they are.
 */
export function decide(state: DeciderState, observed: Observations, now: number): ScalingDecision {
  const { config } = state;
  const { spec, demand, pool, history } = observed;
  if (!history) {
    const target = declaredTarget({
      scaling: spec.scaling,
      inUse: demand.inUse,
      queued: demand.queued,
      current: pool.actual,
      ...(demand.lastRequestAt !== undefined && { lastRequestAt: demand.lastRequestAt }),
      now,
      scaleToZero: config.scaleToZero,
    });
    return { ...target, next: state };
  }
  const { reader, readThrough } = history;
  const inFlight = demand.inFlight ?? demand.inUse;
  const ready = pool.instances.filter((i) => isReady(i.state)).length;
  let m = withColdStarts(state.measured, pool.instances);
  // Samples go where the history is complete, so later arrivals never land before them.
  m = withInFlight(m, readThrough - 1, inFlight);
  if (demand.firstToken && ready > 0)
    m = withFirstTokens(m, now, inFlight / ready, demand.firstToken, spec.scaling.ttftSloMs);
  const { measured, next } = measuredAt(m, reader, readThrough, {
    ...(typeof spec.scaling.capacityPerInstance === 'number' && {
      declared: spec.scaling.capacityPerInstance,
    }),
    ceiling: observed.capacityCeiling,
  });
  const target = policyTarget({
    spec,
    policy: policyNamed(spec.scaling.policy ?? config.defaultPolicy),
    history: reader,
    pool: { instances: pool.actual, ready, inFlight, queued: demand.queued },
    measured,
    tickMs: config.tickMs,
    now,
    scaleToZero: config.scaleToZero,
    unseenArrival: demand.lastRequestAt !== undefined && demand.lastRequestAt >= readThrough,
  });
  // Cached per coarse bucket (demand-forecast.ts), so this costs one computation a minute.
  const level = forecastFor(reader, readThrough, 1).level;
  const forecastPerMin = (level * 60_000) / reader.coarseMs;
  return { ...target, forecastPerMin, next: { config, measured: next } };
}
