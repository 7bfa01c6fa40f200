import ort from 'onnxruntime-node';
import type { AdapterMemory } from '../../adapters/index.ts';
import { ADAPTER_SLOT_INPUT, loraStackNames } from '../../model/graph/index.ts';
import type { StepEntry } from './step-inputs.ts';

/**
 * The adapter inputs of a step (graph/lora.ts): each token's slot, in the order the step lays tokens out
 * (entry by entry, numNew each), and the slot stacks. The stack tensors wrap the memory's arrays once:
 * slots are rewritten in place between steps, so every step reads the current weights without a copy.
 */
export function adapterFeeds(
  memory: AdapterMemory,
): (entries: readonly StepEntry[], T: number) => Record<string, ort.Tensor> {
  const stacks: Record<string, ort.Tensor> = {};
  for (const s of memory.stacks.stacks) {
    const n = loraStackNames(s.target);
    stacks[n.a] = new ort.Tensor('float32', s.a, [...s.aDims]);
    stacks[n.b] = new ort.Tensor('float32', s.b, [...s.bDims]);
  }
  return (entries, T) => {
    const slots = new BigInt64Array(T);
    let t = 0;
    for (const e of entries) {
      slots.fill(BigInt(e.adapterSlot ?? 0), t, t + e.numNew);
      t += e.numNew;
    }
    if (t !== T) throw new Error(`adapterFeeds: entries hold ${t} new tokens, the step ${T}`);
    return { [ADAPTER_SLOT_INPUT]: new ort.Tensor('int64', slots, [T]), ...stacks };
  };
}
