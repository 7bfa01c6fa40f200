import { runInChild } from './child.ts';
import { percentile, sortedCopy } from './stats.ts';

export interface LoadOptions {
  /** Origin, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly path: string;
  /** JSON body, sent with POST; GET when absent. */
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** Requests in flight at all times (closed loop), one connection each. */
  readonly concurrency: number;
  readonly durationMs: number;
  /** Run before the measured window, not counted (connections, JIT, pools). */
  readonly warmupMs: number;
  /** A response counts as an error unless its body contains this (and its status is 2xx). */
  readonly expect?: string;
}

export interface LoadResult {
  /** Successful responses completed inside the measured window (failed ones are `errors`, not served). */
  readonly requests: number;
  /** Successful responses per second of the window. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Failed requests (status, body check, transport) completed inside the window. */
  readonly errors: number;
  /** Latency of every successful request in the window, ascending. */
  readonly latenciesMs: Float64Array;
  readonly durationMs: number;
}

/** Raw counts as the child returns them. */
export interface LoadSamples {
  readonly latenciesMs: Float64Array;
  readonly errors: number;
  readonly durationMs: number;
}

/** Closed-loop load at fixed concurrency from a child process (load-child.ts), which owns its own loop. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  return summariseLoad([await runInChild<LoadOptions, LoadSamples>('load-child', o)]);
}

/** Pools runs (e.g. rounds of one target): throughput over their summed windows, percentiles over all samples. */
export function summariseLoad(runs: readonly LoadSamples[]): LoadResult {
  const latenciesMs = sortedCopy(runs.flatMap((r) => [...r.latenciesMs]));
  const errors = runs.reduce((a, r) => a + r.errors, 0);
  const durationMs = runs.reduce((a, r) => a + r.durationMs, 0);
  const requests = latenciesMs.length; // a failed request was not served
  return {
    requests,
    rps: durationMs > 0 ? (1000 * requests) / durationMs : 0,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    errors,
    latenciesMs,
    durationMs,
  };
}

/** One run's raw samples, for pooling with summariseLoad. */
export async function sampleLoad(o: LoadOptions): Promise<LoadSamples> {
  return runInChild<LoadOptions, LoadSamples>('load-child', o);
}
