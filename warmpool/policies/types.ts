import type { HistoryReader } from './demand-history.ts';

/** What every policy is configured with; policy-specific knobs live in `knobs`. */
export interface PolicyConfig {
  /** How long an instance takes from requested to ready. */
  readonly coldStartMs: number;
  /**
   * Concurrent requests one instance serves within the SLO (measured: throughput at the SLO times
   * the mean service time). Demand in requests in flight / this = instances needed.
   */
  readonly capacityPerInstance: number;
  /** Mean service time of one request, ms; turns arrival rates into concurrency (Little's law). */
  readonly serviceMs: number;
  readonly minInstances: number;
  readonly maxInstances: number;
  /** How often the controller decides; a policy may look this far ahead. */
  readonly tickMs: number;
  /** Policy-specific settings (e.g. keepAliveMs for `keepalive`); each policy documents its own and defaults them. */
  readonly knobs?: Readonly<Record<string, number>>;
}

/** The deployment's instances as the controller sees them now. */
export interface PoolState {
  /** Instances that are ready or on their way (not draining, not failed). */
  readonly instances: number;
  /** Of those, ready to serve now. */
  readonly ready: number;
  /** Requests being served now. */
  readonly inFlight: number;
  /** Requests waiting for capacity. */
  readonly queued: number;
}

export interface PolicyInput {
  readonly config: PolicyConfig;
  readonly history: HistoryReader;
  readonly pool: PoolState;
  /** Epoch ms; policies never read the clock. */
  readonly now: number;
}

export interface PolicyDecision {
  /** Instances wanted (clamped to [minInstances, maxInstances] by the policy). */
  readonly desired: number;
  /** One line a person can read in `warmgate decisions`. */
  readonly reason: string;
}

/** A pure function of its input: same input, same decision. No clock, no timers, no I/O. */
export interface Policy {
  readonly name: string;
  /** The main knob swept for the Pareto curve, with the values swept. */
  readonly knob: { readonly name: string; readonly values: readonly number[] };
  decide(input: PolicyInput): PolicyDecision;
}
