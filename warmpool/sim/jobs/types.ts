import type { Arrangement } from '../adapters/arrangements.ts';
import type { AdapterSetup } from '../adapters/run-arrangement.ts';
import type { RunSummary, Series } from '../engine/metrics.ts';
import type { TraceOptions } from '../trace/types.ts';

/** What every job of a run shares: the trace and the simulated platform. */
export interface SimSetup {
  readonly trace: TraceOptions;
  readonly seed: number;
  readonly coldStartMs: number;
  readonly slots: number;
  readonly tickMs: number;
  readonly maxInstances: number;
  /** Set in adapters mode: the trace's functions become adapters of one base model. */
  readonly adapters?: AdapterSetup;
}

/** One policy at one setting. */
export interface SimJob {
  readonly policy: string;
  /** Knobs passed to the policy (the run's `--knob`s, plus the swept one). */
  readonly knobs: Readonly<Record<string, number>>;
  /** Set for a sweep point: the knob swept and its value here. */
  readonly swept?: { readonly name: string; readonly value: number };
  /** Adapters mode: one pool per adapter, or one base pool for all. */
  readonly arrangement?: Arrangement;
}

export interface JobResult {
  readonly job: SimJob;
  readonly summary: RunSummary;
  readonly series: Series;
  readonly elapsedMs: number;
}
