import type { Policy } from '../../policies/types.ts';
import type { EngineSettings } from '../engine/deployment-sim.ts';
import type { AdapterSummary } from '../engine/metrics.ts';
import { runPolicy, type RunResult } from '../engine/run.ts';
import type { Trace } from '../trace/types.ts';
import { overBaseTrace, perAdapterTrace, type Arrangement } from './arrangements.ts';

/** The adapters mode of a run: how many adapters the trace's functions become, and how instances hold them. */
export interface AdapterSetup {
  readonly count: number;
  /** Adapters one base instance holds at once. */
  readonly slots: number;
  readonly loadMs: number;
}

/** Pools of their own load no adapter: each instance has its adapter from its start (in its cold start). */
const NO_LOADS: AdapterSummary = {
  adapter_loads: 0,
  adapter_load_requests: 0,
  adapter_load_wait_s: 0,
  adapter_load_wait_ms_mean: 0,
};

/** One policy over the trace's functions as adapters, in one arrangement. */
export function runArrangement(
  trace: Trace,
  policy: Policy,
  settings: EngineSettings,
  seed: number,
  a: AdapterSetup,
  arrangement: Arrangement,
): RunResult {
  if (arrangement === 'per-adapter') {
    const r = runPolicy(perAdapterTrace(trace, a.count), policy, settings, seed);
    return { ...r, summary: { ...r.summary, ...NO_LOADS } };
  }
  const adapters = { slots: a.slots, loadMs: a.loadMs };
  return runPolicy(overBaseTrace(trace, a.count), policy, { ...settings, adapters }, seed);
}
