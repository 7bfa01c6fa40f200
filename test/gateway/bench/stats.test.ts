import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summariseLoad } from '../../../gateway/bench/load.ts';
import { prefixHitRate } from '../../../gateway/bench/instances.ts';
import { percentile } from '../../../gateway/bench/stats.ts';

describe('benchmark arithmetic', () => {
  it('takes nearest-rank percentiles of exact samples', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(
      [percentile(xs, 50), percentile(xs, 99), percentile(xs, 100), percentile(xs, 0)],
      [50, 99, 100, 1],
    );
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('pools load runs: successful completions over summed windows, errors apart, percentiles over all samples', () => {
    const s = summariseLoad([
      { latenciesMs: Float64Array.from([3, 1]), errors: 1, durationMs: 1000 },
      { latenciesMs: Float64Array.from([2, 4, 100]), errors: 0, durationMs: 1000 },
    ]);
    assert.deepEqual([...s.latenciesMs], [1, 2, 3, 4, 100]);
    // 5 served and 1 failed over 2 s: 2.5 served per second; the failure is not throughput.
    assert.deepEqual([s.requests, s.errors, s.rps, s.p50Ms, s.p99Ms], [5, 1, 2.5, 3, 100]);
  });

  it('sums prefix hits and queries over instances between two readings', () => {
    const before = [
      { hitTokens: 0, queryTokens: 1 },
      { hitTokens: 10, queryTokens: 100 },
    ];
    const after = [
      { hitTokens: 30, queryTokens: 101 },
      { hitTokens: 20, queryTokens: 200 },
    ];
    assert.equal(prefixHitRate(before, after), 40 / 200);
    assert.equal(
      prefixHitRate([before[0]!, null], [after[0]!, after[1]!]),
      null,
      'an instance without counters',
    );
    assert.equal(prefixHitRate(before, before), null, 'nothing queried');
  });
});
