export { readTrace } from './read-trace.ts';
export { TraceError } from './trace-error.ts';
export type { DeploymentTrace, Requests, Trace, TraceOptions } from './types.ts';
