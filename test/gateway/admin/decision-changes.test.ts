import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionGist, lastChanges } from '../../../gateway/admin/decision-changes.ts';

const d = (at: number, actual: number, desired: number, reason: string) => ({ at, actual, desired, reason });

describe('decision changes', () => {
  it("a reason's numbers do not make a change; its counts and words do", () => {
    assert.equal(
      decisionGist(d(1, 1, 1, 'last arrival 1234 ms ago')),
      decisionGist(d(2, 1, 1, 'last arrival 99 ms ago')),
    );
    assert.notEqual(decisionGist(d(1, 0, 1, 'x')), decisionGist(d(1, 1, 1, 'x')));
    assert.notEqual(decisionGist(d(1, 1, 1, 'holding')), decisionGist(d(1, 1, 1, 'scaling')));
  });

  it('keeps the last n changes, each with the ticks that repeated it', () => {
    const ticks = [
      d(1, 0, 0, 'no arrivals yet'),
      d(2, 0, 0, 'no arrivals yet'),
      d(3, 0, 1, 'demand 3/min'),
      d(4, 1, 1, 'demand 4/min'),
      d(5, 1, 1, 'demand 5/min'),
      d(6, 1, 1, 'demand 2/min'),
      d(7, 1, 0, 'idle 300 s'),
    ];
    assert.deepEqual(
      lastChanges(ticks, 3).map((c) => [c.at, c.repeats]),
      [
        [3, 0],
        [4, 2],
        [7, 0],
      ],
    );
    assert.deepEqual(
      lastChanges(ticks, 10).map((c) => c.at),
      [1, 3, 4, 7],
    );
    assert.deepEqual(lastChanges([], 5), []);
  });
});
