import type { CanaryAnalysis } from '../deployments/index.ts';

/** A version's requests that ended within the analysis window. */
export interface VersionFigures {
  requests: number;
  errors: number;
  /** Null without a first token in the window. */
  ttftP90Ms: number | null;
}

export interface CanaryState {
  figures: VersionFigures;
  /** When the canary was given its weight (the rollout step's time). */
  since: number;
  /** Whether it has a ready instance now. */
  ready: boolean;
}

export type CanaryVerdict =
  | { readonly action: 'continue'; readonly reason: string }
  | { readonly action: 'rollback'; readonly reason: string };

/**
 * Whether a canary stays: it is rolled back when it has had no ready instance for the progress
 * deadline, or once both versions have enough requests in the window, when its error rate exceeds the
 * stable's by more than the margin or its TTFT p90 exceeds the stable's by more than the ratio. Pure:
 * the figures and `now` are all it reads.
 */
export function canaryVerdict(
  analysis: CanaryAnalysis,
  stable: VersionFigures,
  canary: CanaryState,
  now: number,
): CanaryVerdict {
  if (!canary.ready) {
    const waited = now - canary.since;
    return waited >= analysis.progressDeadlineMs
      ? {
          action: 'rollback',
          reason: `no ready instance ${Math.round(waited / 1000)} s after the rollout (progress deadline ${analysis.progressDeadlineMs} ms)`,
        }
      : { action: 'continue', reason: 'waiting for a ready instance' };
  }
  const c = canary.figures;
  if (c.requests < analysis.minRequests || stable.requests < analysis.minRequests)
    return {
      action: 'continue',
      reason: `too few requests to compare (canary ${c.requests}, stable ${stable.requests}, need ${analysis.minRequests})`,
    };
  const canaryRate = c.errors / c.requests;
  const stableRate = stable.errors / stable.requests;
  if (canaryRate - stableRate > analysis.maxErrorRateIncrease)
    return {
      action: 'rollback',
      reason: `error rate ${pct(canaryRate)} against the stable's ${pct(stableRate)} (margin ${pct(analysis.maxErrorRateIncrease)})`,
    };
  if (
    c.ttftP90Ms !== null &&
    stable.ttftP90Ms !== null &&
    c.ttftP90Ms > stable.ttftP90Ms * analysis.maxTtftP90Ratio
  )
    return {
      action: 'rollback',
      reason: `TTFT p90 ${Math.round(c.ttftP90Ms)} ms against the stable's ${Math.round(stable.ttftP90Ms)} ms (ratio over ${analysis.maxTtftP90Ratio})`,
    };
  return { action: 'continue', reason: 'within the margins' };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
