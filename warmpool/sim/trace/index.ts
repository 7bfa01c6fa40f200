export { readTrace } from './read-trace.ts';
export { TraceError } from './trace-error.ts';
export { DEFAULT_TOKEN_MODEL, tokenServiceMs, type TokenServiceModel } from './token-service-time.ts';
export type { DeploymentTrace, Requests, SkippedRows, Trace, TraceOptions } from './types.ts';
