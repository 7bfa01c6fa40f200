import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CapacityAtSlo,
  capacityAt,
  observeFirstTokens,
  UNBOUNDED,
} from '../../../warmpool/controller/capacity-at-slo.ts';
import { measuredAt, unmeasured, withFirstTokens } from '../../../warmpool/controller/measured.ts';

const MIN = 60_000;
const ft = (p90Ms: number, count = 20) => ({ count, p90Ms });

/** The capacity value as a test steps it: each observation replaces it, as the controller's state does. */
class Stepped {
  c: CapacityAtSlo = UNBOUNDED;
  constructor(readonly forgetMs?: number) {}
  observe(at: number, perInstance: number, firstToken: { count: number; p90Ms: number }, sloMs: number) {
    this.c = observeFirstTokens(this.c, at, perInstance, firstToken, sloMs);
  }
  estimate(at: number, ceiling: number): number {
    const { capacity, next } = capacityAt(this.c, at, ceiling, this.forgetMs);
    this.c = next;
    return capacity;
  }
}

describe('capacity per instance at the TTFT SLO (explicit time)', () => {
  it('is the instances’ own limit while nothing breaches the SLO', () => {
    const c = new Stepped();
    assert.equal(c.estimate(0, 32), 32);
    c.observe(1000, 12, ft(400), 1000);
    assert.equal(c.estimate(1000, 32), 32);
  });

  it('is bounded by a breach in proportion to how far over the SLO the p90 went', () => {
    const c = new Stepped();
    c.observe(1000, 12, ft(3000), 1000); // 12 per instance, 3× the SLO: about 4 fit
    assert.equal(c.estimate(1000, 32), 4);
    c.observe(2000, 10, ft(2000), 1000); // a milder breach does not raise the bound
    assert.equal(c.estimate(2000, 32), 4);
    c.observe(3000, 9, ft(4500), 1000); // a harsher one lowers it
    assert.equal(c.estimate(3000, 32), 2);
    c.observe(4000, 20, ft(100_000), 1000);
    assert.equal(c.estimate(4000, 32), 1, 'never below one request per instance');
  });

  it('rises to what was served within the SLO, never past the ceiling', () => {
    const c = new Stepped();
    c.observe(0, 12, ft(3000), 1000);
    c.observe(1000, 3, ft(500), 1000); // within the SLO below the bound: says nothing new
    assert.equal(c.estimate(1000, 32), 4);
    c.observe(2000, 6, ft(900), 1000);
    assert.equal(c.estimate(2000, 32), 6);
    assert.equal(c.estimate(2000, 5), 5);
  });

  it('forgets a bound after forgetMs without a breach, and ignores thin or empty reports', () => {
    const c = new Stepped(10 * MIN);
    c.observe(0, 8, ft(4000, 4), 1000); // 4 samples: too few for a p90
    assert.equal(c.estimate(0, 32), 32);
    c.observe(0, 0, ft(4000), 1000); // no requests in flight: nothing to relate the p90 to
    c.observe(0, 8, ft(Number.NaN), 1000);
    assert.equal(c.estimate(0, 32), 32);
    c.observe(0, 8, ft(4000), 1000);
    assert.equal(c.estimate(10 * MIN, 32), 2);
    assert.equal(c.estimate(10 * MIN + 1, 32), 32);
  });

  it('returns values: an observation or an expired bound gives a new one, the old one unchanged', () => {
    const breached = observeFirstTokens(UNBOUNDED, 1000, 12, ft(3000), 1000);
    assert.deepEqual(UNBOUNDED, { breachAt: 0 });
    assert.deepEqual(breached, { bound: 4, breachAt: 1000 });
    assert.equal(
      observeFirstTokens(breached, 2000, 3, ft(500), 1000),
      breached,
      'nothing new: the same value',
    );
    const later = capacityAt(breached, 1000 + 15 * MIN + 1, 32);
    assert.deepEqual(later, { capacity: 32, next: { breachAt: 1000 } });
    assert.deepEqual(breached, { bound: 4, breachAt: 1000 });
  });

  it('reaches the policy through measuredAt unless the deployment declares a capacity', () => {
    const m = withFirstTokens(unmeasured({ coldStartMs: 3000, serviceMs: 1000 }), 0, 16, ft(4000), 1000);
    const { measured } = measuredAt(m, undefined, 0, { ceiling: 32 });
    assert.equal(measured.capacityPerInstance, 4);
    assert.equal(measured.boundBySlo, true);
    const declared = measuredAt(m, undefined, 0, { declared: 10, ceiling: 32 }).measured;
    assert.equal(declared.capacityPerInstance, 10);
    assert.equal(declared.boundBySlo, undefined);
  });
});

describe('first-token summaries from several gateways', () => {
  it('merge to the slowest p90 over all their samples', async () => {
    const { mergeFirstTokens } = await import('../../../gateway/demand-board/index.ts');
    assert.equal(mergeFirstTokens(undefined, undefined), undefined);
    assert.deepEqual(mergeFirstTokens(ft(300, 8), undefined), ft(300, 8));
    assert.deepEqual(mergeFirstTokens(ft(300, 8), ft(900, 3)), ft(900, 11));
  });
});
