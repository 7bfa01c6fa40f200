/** One deployment's requests: arrival times (sorted, epoch ms) and service times (ms), index by index. */
export interface Requests {
  readonly at: Float64Array;
  readonly serviceMs: Float64Array;
}

/** One deployment of a trace (an Azure function, or a model of a generic trace). */
export interface DeploymentTrace {
  readonly name: string;
  readonly requests: number;
  /** Mean service time, ms: what the policies are told (PolicyConfig.serviceMs). */
  readonly meanServiceMs: number;
  /**
   * The requests, drawn with `seed` where the trace leaves them open (arrival within a minute, service
   * time from a distribution). Built on demand so only one deployment's requests are in memory at once.
   */
  requestsFor(seed: number): Requests;
}

export interface Trace {
  readonly file: string;
  readonly format: 'azure-functions' | 'generic';
  /** The span simulated, [startMs, endMs), whole minutes. */
  readonly startMs: number;
  readonly endMs: number;
  readonly requests: number;
  readonly deployments: readonly DeploymentTrace[];
  /** Where service times come from, for the report. */
  readonly serviceTimes: string;
}

export interface TraceOptions {
  readonly file: string;
  /** Azure: the durations file (default: the invocations file's name with `durations`). */
  readonly durations?: string;
  /** Service time when the trace gives none, ms. */
  readonly serviceMs: number;
  /** Keep only the first N deployments (functions, or models in order of first appearance). */
  readonly limitFunctions?: number;
}

export const MINUTE_MS = 60_000;
