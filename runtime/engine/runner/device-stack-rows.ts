import type { SlotStacks } from '../../adapters/index.ts';
import type { DeviceLoraStack } from '../../model/graph/index.ts';

/*
 * The device form's stacks (graph/lora-slot-mask.ts) read out of the host arrays (SlotStacks, [L*S, in, R]
 * and [L*S, R, out] per target), which stay the source: what a slot write changes.
 */

/** `slots`' rows of a device stack: their row numbers in it, and their contents [K, cols]. */
export function deviceStackRows(
  host: SlotStacks,
  stack: DeviceLoraStack,
  slots: readonly number[],
): { index: BigInt64Array; rows: Float32Array } {
  const S = host.slots;
  const R = host.maxRank;
  const l = stack.layer;
  const cols = stack.shape[1];
  const K = stack.targets.length * slots.length * R;
  const index = new BigInt64Array(K);
  const rows = new Float32Array(K * cols);
  let i = 0;
  stack.targets.forEach((target, k) => {
    const t = host.stacks.find((s) => s.target === target);
    if (!t) throw new Error(`device adapter stack ${stack.name}: the host stacks have no ${target}`);
    for (const s of slots)
      for (let r = 0; r < R; r++, i++) {
        const row = rows.subarray(i * cols, (i + 1) * cols);
        if (stack.kind === 'a') {
          // Column r of the slot's A [in, R]: row (k*S + s)*R + r.
          index[i] = BigInt((k * S + s) * R + r);
          const base = (l * S + s) * cols * R;
          for (let c = 0; c < cols; c++) row[c] = t.a[base + c * R + r]!;
        } else {
          index[i] = BigInt(s * R + r);
          const at = ((l * S + s) * R + r) * cols;
          row.set(t.b.subarray(at, at + cols));
        }
      }
  });
  return { index, rows };
}

/** A device stack whole, from the host arrays (every slot in place). */
export function deviceStackArray(host: SlotStacks, stack: DeviceLoraStack): Float32Array {
  const all = Array.from({ length: host.slots }, (_, s) => s);
  const { index, rows } = deviceStackRows(host, stack, all);
  const cols = stack.shape[1];
  const out = new Float32Array(stack.shape[0] * cols);
  index.forEach((r, i) => out.set(rows.subarray(i * cols, (i + 1) * cols), Number(r) * cols));
  return out;
}
