// The trace-driven autoscaling simulator: `npm run sim` (main.ts) is its command line.
export { DEFAULT_TOKEN_MODEL, readTrace, tokenServiceMs, TraceError } from './trace/index.ts';
export type {
  DeploymentTrace,
  Requests,
  SkippedRows,
  TokenServiceModel,
  Trace,
  TraceOptions,
} from './trace/index.ts';
export { simulateDeployment, type EngineSettings } from './engine/deployment-sim.ts';
export { RunMetrics, type RunSummary, type Series } from './engine/metrics.ts';
export { runPolicy, type RunResult } from './engine/run.ts';
export { runJobs } from './jobs/run-jobs.ts';
export type { JobResult, SimJob, SimSetup } from './jobs/types.ts';
export { planJobs } from './cli/plan.ts';
export { ArgsError, parseSimArgs, type SimArgs } from './cli/args.ts';
export { writeReport, type ReportInput } from './report/write-report.ts';
export { ARRANGEMENTS, overBaseTrace, perAdapterTrace, type Arrangement } from './adapters/arrangements.ts';
export { runArrangement, type AdapterSetup } from './adapters/run-arrangement.ts';
export { AdapterSlots, type AdapterSettings } from './engine/adapter-slots.ts';
