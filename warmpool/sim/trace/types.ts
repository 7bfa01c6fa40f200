import type { TokenServiceModel } from './token-service-time.ts';

/**
 * One deployment's requests: arrival times (sorted, ms on the trace's clock: epoch, or after its first
 * request) and service times (ms), index by index.
 */
export interface Requests {
  readonly at: Float64Array;
  readonly serviceMs: Float64Array;
  /** Each request's adapter, where the requests are those of adapters over one base model. */
  readonly adapter?: Int32Array;
}

/** One deployment of a trace (an Azure function, a model of a generic trace, or an LLM trace's one service). */
export interface DeploymentTrace {
  readonly name: string;
  readonly requests: number;
  /** Mean service time, ms: what the policies are told (PolicyConfig.serviceMs). */
  readonly meanServiceMs: number;
  /** Requested → ready, ms, where the trace states it for this deployment (else the run's --cold-start-ms). */
  readonly coldStartMs?: number;
  /** Requests one instance serves at once, where the trace states it (else the run's --slots). */
  readonly slots?: number;
  /**
   * The requests, drawn with `seed` where the trace leaves them open (arrival within a minute, service
   * time from a distribution). Built on demand so only one deployment's requests are in memory at once.
   */
  requestsFor(seed: number): Requests;
}

export interface Trace {
  readonly file: string;
  readonly format: 'azure-functions' | 'azure-llm-2023' | 'mooncake' | 'generic';
  /** The span simulated, [startMs, endMs), whole minutes. */
  readonly startMs: number;
  readonly endMs: number;
  readonly requests: number;
  readonly deployments: readonly DeploymentTrace[];
  /** Where service times come from, for the report. */
  readonly serviceTimes: string;
  /** Malformed rows left out under `skipInvalid` (none without it: the first one throws). */
  readonly skipped: SkippedRows;
}

/** Rows a reader left out, and why, for the report. */
export interface SkippedRows {
  readonly rows: number;
  /** The first few, in file order. */
  readonly examples: readonly { readonly line: number; readonly reason: string }[];
}

export interface TraceOptions {
  readonly file: string;
  /** Azure: the durations file (default: the invocations file's name with `durations`). */
  readonly durations?: string;
  /** Service time when the trace gives neither a duration nor tokens, ms. */
  readonly serviceMs: number;
  /** Service time from a request's tokens, where the trace gives tokens and no duration (default DEFAULT_TOKEN_MODEL). */
  readonly tokenModel?: TokenServiceModel;
  /** Leave malformed rows out and count them, instead of failing on the first. */
  readonly skipInvalid?: boolean;
  /** Keep only the first N deployments (functions, or models in order of first appearance). */
  readonly limitFunctions?: number;
}

export const MINUTE_MS = 60_000;
