// The step's segments by adapter slot: every token sits in exactly one cell of a segment of its own slot,
// and the width is the one that moves the fewest floats (a prefill under one adapter is a few segments,
// decodes under distinct adapters are one token each).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterSegments } from '../../../runtime/engine/runner/adapter-segments.ts';

/** Checks the layout against the token slots it came from, independently of how it was built. */
function checkLayout(slots: number[], rank: number) {
  const s = adapterSegments(slots, rank);
  assert.equal(s.segmentSlot.length, s.segments);
  assert.equal(s.segmentTokens.length, s.segments * s.width);
  const owner = new Map<number, number>();
  slots.forEach((slot, t) => {
    const cell = Number(s.tokenRow[t]);
    const u = Math.floor(cell / s.width);
    assert.equal(Number(s.segmentTokens[cell]), t, `token ${t} reads its own cell`);
    assert.equal(Number(s.segmentSlot[u]), slot, `token ${t} is in a segment of slot ${slot}`);
    assert.equal(owner.get(cell), undefined, `cell ${cell} is read by one token only`);
    owner.set(cell, t);
  });
  for (let c = 0; c < s.segmentTokens.length; c++) {
    const t = Number(s.segmentTokens[c]);
    assert.ok(t >= 0 && t < slots.length, `cell ${c} (padding too) names a token of the step`);
    assert.equal(
      slots[t],
      Number(s.segmentSlot[Math.floor(c / s.width)]),
      `cell ${c} holds a token of its slot`,
    );
  }
  return s;
}

describe('adapterSegments', () => {
  it('64 decodes under 64 adapters: one token per segment', () => {
    const s = checkLayout(
      Array.from({ length: 64 }, (_, i) => i + 1),
      16,
    );
    assert.equal(s.width, 1);
    assert.equal(s.segments, 64);
  });

  it('a 200-token prefill under one adapter: a few wide segments, not 200', () => {
    const s = checkLayout(new Array(200).fill(3), 16);
    assert.ok(s.segments <= 2, `${s.segments} segments of ${s.width}`);
  });

  it('a prefill chunk beside decodes of other adapters and the base model: fewer gathers, every token placed', () => {
    const slots = [...Array.from({ length: 40 }, (_, i) => 1 + (i % 20)), ...new Array(150).fill(7), 0, 0, 0];
    const s = checkLayout(slots, 16);
    assert.ok(s.segments < 60, `${s.segments} segments of ${s.width} for ${slots.length} tokens`);
    // The chosen width moves no more than per-token segments would (cost (rank + P) per segment).
    assert.ok(s.segments * (16 + s.width) <= slots.length * 17);
  });

  it('tokens of one slot need not be adjacent; a single token and an empty step are laid out too', () => {
    checkLayout([5, 0, 5, 2, 5, 0, 2, 5], 4);
    const one = checkLayout([9], 64);
    assert.deepEqual([one.segments, one.width], [1, 1]);
    const none = adapterSegments([], 8);
    assert.equal(none.segments, 0);
  });
});
