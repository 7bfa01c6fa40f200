import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { slopePerMinute } from '../../warmpool/soak/trend.ts';

describe('soak trend', () => {
  it('gives the slope per minute of readings on a line, and of noisy readings around one', () => {
    const line = [0, 1, 2, 3, 4].map((m) => ({ tMs: m * 60_000, value: 100 + 1.5 * m }));
    assert.equal(slopePerMinute(line), 1.5);
    const noisy = line.map((r, i) => ({ ...r, value: r.value + (i % 2 ? 0.4 : -0.4) }));
    assert.ok(Math.abs(slopePerMinute(noisy)! - 1.5) < 0.25);
    const flat = line.map((r) => ({ ...r, value: 100 }));
    assert.equal(slopePerMinute(flat), 0);
  });

  it('says nothing from fewer than three readings or readings at one instant', () => {
    assert.equal(
      slopePerMinute([
        { tMs: 0, value: 1 },
        { tMs: 1, value: 2 },
      ]),
      null,
    );
    assert.equal(slopePerMinute([0, 0, 0].map((v) => ({ tMs: 5, value: v }))), null);
  });
});
