import { runInChild } from './child.ts';
import { percentile, sortedCopy } from './stats.ts';

/** Where a replay sends its requests. */
export type ReplayTarget =
  /** POST /v1/completions with stream: true (SSE). */
  | { readonly kind: 'gateway'; readonly url: string; readonly model: string }
  /** The instances' own POST /generate (NDJSON), client-side round robin: a baseline without a gateway. */
  | { readonly kind: 'instances'; readonly urls: readonly string[] };

export interface ReplayRequest {
  readonly atMs: number;
  readonly prompt: string;
  readonly maxTokens: number;
  /** Sent as x-warmgate-session (gateway targets only). */
  readonly session?: string;
}

export interface ReplayInput {
  readonly target: ReplayTarget;
  readonly requests: readonly ReplayRequest[];
}

/** One request as the client saw it; times from the moment it was sent. */
export interface ReplayOutcome {
  readonly status: number;
  /** To the first streamed line with text; null when none came (an error, or no text generated). */
  readonly ttftMs: number | null;
  readonly totalMs: number;
  readonly error?: string;
}

export interface ReplaySummary {
  readonly requests: number;
  readonly errors: number;
  /** Succeeded but no line carried text (every token an incomplete character): no TTFT sample. */
  readonly noText: number;
  readonly ttftP50Ms: number;
  readonly ttftP90Ms: number;
  readonly ttftP99Ms: number;
  readonly wallMs: number;
  /** How late the client sent its latest request against its schedule (a busy client shows here). */
  readonly maxSendLagMs: number;
  readonly firstError?: string;
}

export interface ReplayResult {
  readonly outcomes: readonly ReplayOutcome[];
  readonly wallMs: number;
  readonly maxSendLagMs: number;
}

/**
 * Open-loop replay from a child process (replay-child.ts): request i is sent at its `atMs` whatever
 * happened to the others, and its time to first token is measured on the client, from the stream.
 */
export async function runReplay(input: ReplayInput): Promise<ReplaySummary> {
  return summariseReplay(await runInChild<ReplayInput, ReplayResult>('replay-child', input));
}

function summariseReplay(r: ReplayResult): ReplaySummary {
  const failed = r.outcomes.filter((o) => o.error !== undefined);
  const ttft = sortedCopy(
    r.outcomes.flatMap((o) => (o.error === undefined && o.ttftMs !== null ? [o.ttftMs] : [])),
  );
  return {
    requests: r.outcomes.length,
    errors: failed.length,
    noText: r.outcomes.length - failed.length - ttft.length,
    ttftP50Ms: percentile(ttft, 50),
    ttftP90Ms: percentile(ttft, 90),
    ttftP99Ms: percentile(ttft, 99),
    wallMs: r.wallMs,
    maxSendLagMs: r.maxSendLagMs,
    ...(failed[0] ? { firstError: failed[0].error } : {}),
  };
}
