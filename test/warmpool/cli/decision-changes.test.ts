import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecisionChanges } from '../../../warmpool/cli/decision-changes.ts';

const d = (at: number, desired: number, actual: number, reason: string, deployment = 'tiny') => ({
  at,
  deployment,
  desired,
  actual,
  reason,
});

describe('DecisionChanges', () => {
  const ticks = [
    d(100, 1, 0, 'predictive: no arrivals yet; 1 for requests now'),
    d(200, 1, 1, 'keep-alive: last arrival 20 ms ago < 300000 ms; holding 1'),
    d(300, 1, 1, 'keep-alive: last arrival 120 ms ago < 300000 ms; holding 1'),
    d(300, 0, 0, 'declared: min 0', 'other'),
    d(400, 1, 1, 'keep-alive: last arrival 220.5 ms ago < 300000 ms; holding 1'),
    d(500, 0, 1, 'keep-alive expired (last arrival 300001 ms ago); 0 for 0 in flight'),
    d(600, 0, 0, 'keep-alive expired (last arrival 300101 ms ago); 0 for 0 in flight'),
    d(700, 0, 0, 'keep-alive expired (last arrival 300201 ms ago); 0 for 0 in flight'),
  ];

  it('keeps a decision only when its target, its count or the words of its reason change', () => {
    assert.deepEqual(
      new DecisionChanges().next(ticks).map((x) => `${x.deployment}@${x.at}`),
      ['tiny@100', 'tiny@200', 'other@300', 'tiny@500', 'tiny@600'],
    );
  });

  it('with all, keeps every tick', () => {
    assert.deepEqual(new DecisionChanges({ all: true }).next(ticks), ticks);
  });

  it('across reads (--follow) keeps only what is new, a late decision of an instant already seen too', () => {
    const all = new DecisionChanges({ all: true });
    assert.equal(all.next(ticks.slice(0, 3)).length, 3);
    // The next read overlaps the last (the ring still holds them) and brings 'other' at 300, read late.
    assert.deepEqual(all.next(ticks.slice(1, 5)), [ticks[3], ticks[4]]);
    assert.deepEqual(all.next(ticks.slice(1, 5)), []);
    const changes = new DecisionChanges();
    changes.next(ticks.slice(0, 3));
    assert.deepEqual(changes.next(ticks.slice(2, 8)), [ticks[3], ticks[5], ticks[6]]);
  });
});
