import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RoutingRunResult } from '../../../gateway/bench/routing-bench.ts';
import { summariseArms } from '../../../gateway/bench/sessions-summary.ts';

const arm = (run: RoutingRunResult['run'], queried: number, hits: number, p50: number, p90: number) =>
  ({
    run,
    replay: { requests: 10, errors: 0, noText: 0, ttftP50Ms: p50, ttftP90Ms: p90, ttftP99Ms: p90 * 2 },
    prefixHitRate: hits / queried,
    prefixHitTokens: hits,
    prefixQueryTokens: queried,
  }) as RoutingRunResult;

describe('bench:sessions arms', () => {
  it('prefill = looked up less hits; ratios against the baseline arm', () => {
    const s = summariseArms(
      [arm('least-load', 1000, 200, 80, 400), arm('prefix+session', 1000, 600, 40, 100)],
      'least-load',
    );
    assert.deepEqual([s['least-load']!.prefill_tokens, s['prefix+session']!.prefill_tokens], [800, 400]);
    assert.deepEqual(s['prefix+session']!.vs_baseline, {
      prefill_tokens: 0.5,
      saved_prefill_tokens: 3,
      ttft_p50: 0.5,
      ttft_p90: 0.25,
    });
    assert.deepEqual(s['least-load']!.vs_baseline.prefill_tokens, 1);
  });

  it('no counters from the instances: null, not a number', () => {
    const r = { ...arm('least-load', 1, 0, 1, 1), prefixHitTokens: null, prefixQueryTokens: null };
    const s = summariseArms([r], 'least-load')['least-load']!;
    assert.deepEqual(
      [s.prefill_tokens, s.saved_prefill_tokens, s.vs_baseline.prefill_tokens],
      [null, null, null],
    );
  });

  it('refuses a baseline that did not run', () => {
    assert.throws(() => summariseArms([arm('prefix', 1, 0, 1, 1)], 'least-load'), /no least-load run/);
  });
});
