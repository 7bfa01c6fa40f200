import type { RoutingRunResult } from './routing-bench.ts';
import { r2, r4 } from './stats.ts';

/** One arm of bench:sessions as the report shows it; ratios are this arm's over the baseline's. */
export interface ArmSummary {
  /** Prompt tokens the instances prefilled: looked up in the prefix cache and not found there. */
  readonly prefill_tokens: number | null;
  /** Prompt tokens found in a prefix cache (the instances' hit counters): prefill saved. */
  readonly saved_prefill_tokens: number | null;
  readonly prefix_hit_rate: number | null;
  readonly ttft_p50_ms: number | null;
  readonly ttft_p90_ms: number | null;
  readonly ttft_p99_ms: number | null;
  readonly errors: number;
  readonly vs_baseline: {
    readonly prefill_tokens: number | null;
    readonly saved_prefill_tokens: number | null;
    readonly ttft_p50: number | null;
    readonly ttft_p90: number | null;
  };
}

const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);

/** Each run's summary, keyed by run, with its ratios against `baseline` (a run among them). */
export function summariseArms(
  results: readonly RoutingRunResult[],
  baseline: RoutingRunResult['run'],
): Record<string, ArmSummary> {
  const base = results.find((r) => r.run === baseline);
  if (!base)
    throw new Error(`summariseArms: no ${baseline} run among ${results.map((r) => r.run).join(', ')}`);
  const prefill = (r: RoutingRunResult) =>
    r.prefixQueryTokens === null || r.prefixHitTokens === null
      ? null
      : r.prefixQueryTokens - r.prefixHitTokens;
  return Object.fromEntries(
    results.map((r) => [
      r.run,
      {
        prefill_tokens: prefill(r),
        saved_prefill_tokens: r.prefixHitTokens,
        prefix_hit_rate: r4(r.prefixHitRate),
        ttft_p50_ms: r2(r.replay.ttftP50Ms),
        ttft_p90_ms: r2(r.replay.ttftP90Ms),
        ttft_p99_ms: r2(r.replay.ttftP99Ms),
        errors: r.replay.errors,
        vs_baseline: {
          prefill_tokens: r4(ratio(prefill(r), prefill(base))),
          saved_prefill_tokens: r4(ratio(r.prefixHitTokens, base.prefixHitTokens)),
          ttft_p50: r4(ratio(r.replay.ttftP50Ms, base.replay.ttftP50Ms)),
          ttft_p90: r4(ratio(r.replay.ttftP90Ms, base.replay.ttftP90Ms)),
        },
      },
    ]),
  );
}
