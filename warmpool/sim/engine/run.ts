import type { Policy } from '../../policies/index.ts';
import type { DeploymentTrace, Trace } from '../trace/types.ts';
import { simulateDeployment, type EngineSettings } from './deployment-sim.ts';
import { RunMetrics, type RunSummary, type Series } from './metrics.ts';

export interface RunResult {
  readonly summary: RunSummary;
  readonly series: Series;
}

/**
 * One policy at one setting over every deployment of the trace. Each deployment's requests are drawn
 * from `seed` and its name, so the result does not depend on the order or on other deployments.
 */
export function runPolicy(trace: Trace, policy: Policy, settings: EngineSettings, seed: number): RunResult {
  const metrics = new RunMetrics(settings.startMs, settings.endMs, settings.tickMs);
  for (const d of trace.deployments) {
    simulateDeployment(policy, settingsFor(d, settings), d.meanServiceMs, d.requestsFor(seed), metrics);
  }
  const summary = {
    ...metrics.summary(),
    ...(settings.adapters !== undefined && metrics.adapterSummary()),
  };
  if (summary.served !== summary.requests)
    throw new Error(`sim: ${summary.requests} requests but ${summary.served} served`); // a bookkeeping bug
  return { summary, series: metrics.series };
}

/** The run's settings, with the cold start and slots the trace states for this deployment, if any. */
function settingsFor(d: DeploymentTrace, s: EngineSettings): EngineSettings {
  if (d.coldStartMs === undefined && d.slots === undefined) return s;
  return { ...s, coldStartMs: d.coldStartMs ?? s.coldStartMs, slots: d.slots ?? s.slots };
}
