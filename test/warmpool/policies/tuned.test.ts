import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemandHistory, POLICIES } from '../../../warmpool/policies/index.ts';
import { tuningOf, type Tuning } from '../../../warmpool/policies/tuned.ts';
import { MIN, T0, addShapes, config, pool } from './helpers.ts';

const cfg = config({ serviceMs: 200, capacityPerInstance: 8, knobs: { coldStartCost: 60 } });

/** The candidate whose backtest cost least. */
function cheapest(backtests: ReadonlyMap<string, { cost: number }>): string {
  return [...backtests].sort((a, b) => a[1].cost - b[1].cost)[0]![0];
}

/**
 * Steps a minute at a time from `from` until the tuning is retuned (a new one replaces the last), at most
 * the ten-minute period plus one: retunes are staggered across deployments.
 */
function nextRetune(h: DemandHistory, from: number, last: Tuning | undefined) {
  for (let t = from; t <= from + 11 * MIN; t += MIN) {
    h.advance(t);
    const now = tuningOf(h, cfg, t);
    if (now !== last) return { tuning: now, at: t };
  }
  throw new Error('not retuned within the period');
}

describe('tuned policy (backtests on the deployment’s own last hour)', () => {
  it('picks the cheapest candidate for the stated cost, and switches when the traffic changes shape', () => {
    const h = new DemandHistory();
    // An hour and ten minutes of calls at random, 40 s apart on average: holding on is cheapest.
    addShapes(h, 'random');
    h.advance(T0 + 70 * MIN);
    const first = tuningOf(h, cfg, T0 + 70 * MIN);
    const { tuning: steady } =
      first.backtests.size > 0 ? { tuning: first } : nextRetune(h, T0 + 70 * MIN, first);
    assert.equal(steady.backtests.size, 6);
    assert.equal(steady.choice, cheapest(steady.backtests));
    assert.match(steady.choice, /^keepalive/);

    // Then bursts of 20 every 8 minutes and nothing between: holding three instances through the gaps
    // costs more than the cold starts a pool released between bursts takes.
    addShapes(h, 'bursts');
    const { tuning: bursty, at } = nextRetune(h, T0 + 160 * MIN, steady);
    assert.notEqual(bursty.choice, steady.choice);
    assert.equal(bursty.choice, cheapest(bursty.backtests));
    const kept = bursty.backtests.get('keepalive 10 min')!;
    const chosen = bursty.backtests.get(bursty.choice)!;
    assert.ok(chosen.cost < 0.5 * kept.cost, `${JSON.stringify(chosen)} against ${JSON.stringify(kept)}`);

    // The decision delegates to the choice and says why.
    const d = POLICIES.tuned.decide({ config: cfg, history: h, pool: pool(), now: at + 1000 });
    assert.match(
      d.reason,
      new RegExp(`^tuned: ${bursty.choice} \\(last hour: \\d+ idle s \\+ \\d+ cold × 60 s`),
    );
  });

  it('keeps its choice between retunes, and falls back to the prior with little history', () => {
    const h = new DemandHistory();
    for (let k = 0; k < 5; k++) h.add(T0 + k * 7 * MIN);
    h.advance(T0 + 30 * MIN);
    const start = tuningOf(h, cfg, T0 + 30 * MIN);
    assert.equal(start.choice, 'costaware', 'the prior before any backtest');
    const { tuning: prior, at } =
      start.backtests.size === 0 && /arrivals/.test(start.why)
        ? { tuning: start, at: T0 + 30 * MIN }
        : nextRetune(h, T0 + 30 * MIN, start);
    assert.equal(prior.choice, 'costaware');
    assert.match(prior.why, /5 arrivals in the last hour: the prior/);
    assert.equal(prior.backtests.size, 0);
    for (let k = 0; k < 60; k++) h.add(at + k * 5000);
    h.advance(at + 9 * MIN);
    assert.equal(tuningOf(h, cfg, at + 9 * MIN), prior, 'not retuned within ten minutes');
    h.advance(at + 10 * MIN);
    assert.equal(tuningOf(h, cfg, at + 10 * MIN).backtests.size, 6, 'retuned after ten');
  });

  it('takes its period and window from the knobs retuneMs and tuneWindowMs', () => {
    const fast = config({ ...cfg, knobs: { coldStartCost: 60, retuneMs: 2000, tuneWindowMs: 30_000 } });
    const h = new DemandHistory();
    // 40 calls a second apart, then 5 in the last 30 s: only these are in the window.
    for (let k = 0; k < 40; k++) h.add(T0 + k * 1000);
    for (let k = 0; k < 5; k++) h.add(T0 + 80_000 + k * 5000);
    h.advance(T0 + 110_000);
    let t = T0 + 110_000;
    let tuning = tuningOf(h, fast, t);
    // Staggered: the first retune comes within one period.
    for (let i = 0; i < 3 && !/arrivals/.test(tuning.why); i++) tuning = tuningOf(h, fast, (t += 1000));
    assert.match(tuning.why, /^5 arrivals in the last 30 s: the prior$/);
    // 30 more in the window: backtested, retuned within the 2 s period and not before it.
    for (let k = 0; k < 30; k++) h.add(t + k * 500);
    h.advance((t += 16_000));
    const backtested = tuningOf(h, fast, t);
    assert.equal(backtested.backtests.size, 6);
    assert.match(backtested.why, /^last 30 s: \d+ idle s \+ \d+ cold × 60 s = \d+; next /);
    assert.equal(tuningOf(h, fast, t + 1999), backtested, 'kept within the period');
    assert.notEqual(tuningOf(h, fast, t + 2000), backtested, 'retuned after it');
  });
});
