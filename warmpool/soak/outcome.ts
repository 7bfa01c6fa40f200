import { percentile, sortedCopy } from '../../gateway/bench/stats.ts';

/** One request as the client saw it; times from the moment it was sent. */
export interface Outcome {
  /** HTTP status; 0 when the request failed before a response (connection refused, reset). */
  readonly status: number;
  /** To the first chunk with content; null when none came. */
  readonly ttftMs: number | null;
  readonly totalMs: number;
  /** The stream ended with data: [DONE]. */
  readonly done: boolean;
  readonly completionTokens: number;
  /** Transport error, non-200 body, or the stream's error event. */
  readonly error?: string;
}

/** A failure: not 200, an error (transport or an error event in the stream), or no [DONE] at the end. */
export function failed(o: Outcome): boolean {
  return o.status !== 200 || o.error !== undefined || !o.done;
}

export interface LoadSummary {
  readonly requests: number;
  readonly failures: number;
  /** Succeeded without one content chunk (EOS first, or only partial UTF-8): no TTFT sample. */
  readonly noContent: number;
  readonly ttftP50Ms: number;
  readonly ttftP99Ms: number;
  readonly ttftMaxMs: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly completionTokens: number;
  /** Completed requests and generated tokens per second of the load's wall time. */
  readonly rps: number;
  readonly tokensPerS: number;
  readonly wallMs: number;
  /** How late the client sent its latest request against the schedule (a busy client shows here). */
  readonly maxSendLagMs: number;
  /** The first few failures, for the report. */
  readonly failureSamples: readonly string[];
}

export function summarise(outcomes: readonly Outcome[], wallMs: number, maxSendLagMs: number): LoadSummary {
  const bad = outcomes.filter(failed);
  const good = outcomes.filter((o) => !failed(o));
  const ttft = sortedCopy(good.flatMap((o) => (o.ttftMs === null ? [] : [o.ttftMs])));
  const latency = sortedCopy(good.map((o) => o.totalMs));
  const tokens = good.reduce((a, o) => a + o.completionTokens, 0);
  const perS = (n: number) => (wallMs > 0 ? (1000 * n) / wallMs : 0);
  return {
    requests: outcomes.length,
    failures: bad.length,
    noContent: good.length - ttft.length,
    ttftP50Ms: percentile(ttft, 50),
    ttftP99Ms: percentile(ttft, 99),
    ttftMaxMs: ttft.length ? ttft[ttft.length - 1]! : Number.NaN,
    latencyP50Ms: percentile(latency, 50),
    latencyP99Ms: percentile(latency, 99),
    completionTokens: tokens,
    rps: perS(good.length),
    tokensPerS: perS(tokens),
    wallMs,
    maxSendLagMs,
    failureSamples: bad
      .slice(0, 5)
      .map((o) => `status ${o.status}${o.done ? '' : ', no [DONE]'}${o.error ? `: ${o.error}` : ''}`),
  };
}
