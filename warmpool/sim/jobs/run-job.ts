import { policyNamed } from '../../policies/index.ts';
import { runArrangement } from '../adapters/run-arrangement.ts';
import { runPolicy } from '../engine/run.ts';
import type { Trace } from '../trace/types.ts';
import type { JobResult, SimJob, SimSetup } from './types.ts';

/** Runs one job on an already read trace. */
export function runJob(trace: Trace, setup: SimSetup, job: SimJob): JobResult {
  const t0 = performance.now();
  const policy = policyNamed(job.policy);
  const settings = {
    coldStartMs: setup.coldStartMs,
    slots: setup.slots,
    tickMs: setup.tickMs,
    maxInstances: setup.maxInstances,
    knobs: job.knobs,
    startMs: trace.startMs,
    endMs: trace.endMs,
  };
  const { summary, series } =
    job.arrangement === undefined
      ? runPolicy(trace, policy, settings, setup.seed)
      : runArrangement(trace, policy, settings, setup.seed, setup.adapters!, job.arrangement);
  return { job, summary, series, elapsedMs: performance.now() - t0 };
}
