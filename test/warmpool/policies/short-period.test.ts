// The short-period detector on the live test's timer (test/fixtures: 14 calls a trace minute, every 10
// trace minutes, one minute compressed to a second): its bursts' first calls come a few tens of ms off
// the period, so which 1 s bucket each onset falls in depends on where the wall-clock second falls. The
// period must be found after four bursts whatever that phase is (a 1-bucket tolerance around the median
// gap refused it at phases near a second's end: gaps read 11, 9, 11).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shortPeriodFor } from '../../../warmpool/policies/short-period.ts';
import { timerBursts } from '../predictive/timer-trace.ts';
import { historyOf, T0 } from './helpers.ts';

describe('short period: a timer found at every phase of the second', () => {
  it('after four bursts, at phases 0 to 0.99 s, with the period within a bucket of 10 s', async () => {
    const bursts = await timerBursts(5, 60);
    const refused: number[] = [];
    for (let phase = 0; phase < 1000; phase += 10) {
      const start = T0 + phase;
      const times = bursts
        .slice(0, 4)
        .flat()
        .map((ms) => start + ms);
      const last = times.at(-1)!;
      const sp = shortPeriodFor(historyOf(times, last + 2000), last + 2000);
      if (sp === undefined) {
        refused.push(phase);
        continue;
      }
      assert.ok(Math.abs(sp.periodMs - 10_000) <= 1000, `phase ${phase}: period ${sp.periodMs} ms`);
      // The next burst's predicted onset is no later than it comes (then held from a start before).
      const next = sp.lastOnsetMs + sp.periodMs;
      assert.ok(next <= start + bursts[4]![0]! + 1000, `phase ${phase}: next at ${next - start}`);
    }
    assert.deepEqual(refused, [], 'phases (ms) at which no period was found');
  });

  it('still refuses gaps that are not a period', () => {
    const irregular = [0, 10_000, 23_000, 30_000, 45_000].map((ms) => T0 + ms);
    assert.equal(shortPeriodFor(historyOf(irregular, T0 + 47_000), T0 + 47_000), undefined);
  });
});
