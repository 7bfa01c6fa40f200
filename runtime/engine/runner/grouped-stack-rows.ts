import type { SlotStacks } from '../../adapters/index.ts';
import type { DeviceLoraStacks } from '../../model/graph/index.ts';

/**
 * Rows of a group's device stacks (graph/lora-grouped.ts), made from the host stacks (SlotStacks, one
 * [L*S, in, R] and [L*S, R, out] per target), which stay the source: what a slot write changes. Row
 * l*S + s is layer l's slot s in both. A: the group's A matrices side by side, [in, n*R]; B: theirs
 * block-diagonal, [n*R, outs], zeros off the blocks.
 */
export function groupedStackRows(
  host: SlotStacks,
  group: DeviceLoraStacks,
  rows: ArrayLike<number>,
): { a: Float32Array; b: Float32Array } {
  const [, IN, NR] = group.a.shape;
  const [, , OUTS] = group.b.shape;
  const R = host.maxRank;
  const a = new Float32Array(rows.length * IN * NR);
  const b = new Float32Array(rows.length * NR * OUTS);
  let offset = 0; // the target's first output column in B
  group.targets.forEach((target, m) => {
    const t = host.stacks.find((s) => s.target === target);
    if (!t) throw new Error(`adapter stacks: the host stacks have no ${target}`);
    const OUT = t.bDims[2];
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      for (let i = 0; i < IN; i++)
        for (let r = 0; r < R; r++) a[(k * IN + i) * NR + m * R + r] = t.a[(row * IN + i) * R + r]!;
      for (let r = 0; r < R; r++) {
        const from = (row * R + r) * OUT;
        b.set(t.b.subarray(from, from + OUT), (k * NR + m * R + r) * OUTS + offset);
      }
    }
    offset += OUT;
  });
  return { a, b };
}
