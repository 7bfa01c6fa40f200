import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coldAt, verdictAt } from '../../../warmpool/sim/evaluate/pareto-check.ts';

const p = (idle: number, cold: number) => ({ idle, cold, label: `${idle}/${cold}` });

describe('sim:evaluate: a policy against a baseline at equal idle cost', () => {
  const curve = [p(100, 50), p(10, 400), p(40, 100), p(60, 120)]; // any order; (60, 120) is dominated

  it('reads cold starts off the lower envelope, linearly between its points', () => {
    assert.equal(coldAt(curve, 10), 400);
    assert.equal(coldAt(curve, 25), 250);
    assert.equal(coldAt(curve, 70), 75, 'the dominated point is left out');
    assert.equal(coldAt(curve, 500), 50, 'beyond its most idle point: that point');
    assert.equal(coldAt(curve, 5), undefined, 'below its least idle point: unknown');
  });

  it('passes a baseline point only at half its cold starts or fewer, and never above', () => {
    const half = verdictAt(curve, p(40, 200));
    assert.deepEqual([half.candidate, half.ratio, half.half, half.notWorse], [100, 0.5, true, true]);
    const close = verdictAt(curve, p(40, 150));
    assert.deepEqual([close.half, close.notWorse], [false, true]);
    const worse = verdictAt(curve, p(100, 40));
    assert.deepEqual([worse.half, worse.notWorse], [false, false]);
    const outside = verdictAt(curve, p(1, 1000));
    assert.deepEqual([outside.candidate, outside.half, outside.notWorse], [undefined, false, false]);
  });
});
