import ort from 'onnxruntime-node';
import type { AdapterMemory, SlotStacks } from '../../adapters/index.ts';
import type { LoadedModel } from '../../model/index.ts';
import {
  ADAPTER_ANY_INPUT,
  ADAPTER_SEGMENT_SLOT_INPUT,
  ADAPTER_SEGMENT_TOKENS_INPUT,
  ADAPTER_TOKEN_ROW_INPUT,
  loraStackNames,
} from '../../model/graph/index.ts';
import { adapterSegments } from './adapter-segments.ts';
import type { StepEntry } from './step-inputs.ts';

/*
 * The adapter inputs of a step (graph/lora.ts), shared by both runners: where the tokens meet their
 * slots (segments on the host, per token on the device) and the slot stacks. The host runner feeds the
 * stacks' host arrays; the device runner holds them on the device (device-adapter-stacks.ts) and feeds
 * these only as its fallback.
 */

/** A runner's adapter memory: required for a model loaded with adapter slots, refused otherwise. */
export function checkAdapterMemory(model: LoadedModel, memory: AdapterMemory | undefined): void {
  if ((model.adapters === undefined) !== (memory === undefined))
    throw new Error(
      model.adapters
        ? `${model.manifest.name} was loaded with adapter slots: give the runner its AdapterMemory`
        : `${model.manifest.name} was loaded without adapter slots: load it with options.adapters`,
    );
}

/** Each token's slot, in the order the step lays tokens out (entry by entry, numNew each). */
export function tokenSlots(entries: readonly StepEntry[], T: number): Int32Array {
  const slots = new Int32Array(T);
  let t = 0;
  for (const e of entries) {
    slots.fill(e.adapterSlot ?? 0, t, t + e.numNew);
    t += e.numNew;
  }
  if (t !== T) throw new Error(`adapter feeds: entries hold ${t} new tokens, the step ${T}`);
  return slots;
}

/** The segment form (the host step graph): the step's tokens in segments by slot (adapter-segments.ts). */
export function adapterSegmentFeeds(
  entries: readonly StepEntry[],
  T: number,
  rank: number,
): Record<string, ort.Tensor> {
  const s = adapterSegments(tokenSlots(entries, T), rank);
  return {
    [ADAPTER_SEGMENT_SLOT_INPUT]: new ort.Tensor('int64', s.segmentSlot, [s.segments]),
    [ADAPTER_SEGMENT_TOKENS_INPUT]: new ort.Tensor('int64', s.segmentTokens, [s.segments, s.width]),
    [ADAPTER_TOKEN_ROW_INPUT]: new ort.Tensor('int64', s.tokenRow, [T]),
  };
}

/**
 * The stacks' host arrays as feeds, wrapped once: slots are rewritten in place between steps, so every
 * step reads the current weights without a copy (on the CPU; another provider uploads them each run).
 */
export function hostStackFeeds(stacks: SlotStacks): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const s of stacks.stacks) {
    const n = loraStackNames(s.target);
    feeds[n.a] = new ort.Tensor('float32', s.a, [...s.aDims]);
    feeds[n.b] = new ort.Tensor('float32', s.b, [...s.bDims]);
  }
  return feeds;
}

const ANY = new ort.Tensor('bool', Uint8Array.of(1), [1]);
const NONE = new ort.Tensor('bool', Uint8Array.of(0), [1]);
const NO_SEGMENTS = {
  [ADAPTER_SEGMENT_SLOT_INPUT]: new ort.Tensor('int64', new BigInt64Array(0), [0]),
  [ADAPTER_SEGMENT_TOKENS_INPUT]: new ort.Tensor('int64', new BigInt64Array(0), [0, 1]),
};

/**
 * The host runner's adapter feeds: the slots, the host stacks, and whether any token names an adapter.
 * A base-only step skips every adapter product (engine.onnx's Ifs on adapter_any) and gets no segments,
 * so the token cells laid out before those Ifs are empty.
 */
export function adapterFeeds(
  memory: AdapterMemory,
): (entries: readonly StepEntry[], T: number) => Record<string, ort.Tensor> {
  const stacks = hostStackFeeds(memory.stacks);
  return (entries, T) => {
    const any = entries.some((e) => (e.adapterSlot ?? 0) !== 0);
    const segments = any
      ? adapterSegmentFeeds(entries, T, memory.stacks.maxRank)
      : { ...NO_SEGMENTS, [ADAPTER_TOKEN_ROW_INPUT]: new ort.Tensor('int64', new BigInt64Array(T), [T]) };
    return { ...segments, ...stacks, [ADAPTER_ANY_INPUT]: any ? ANY : NONE };
  };
}
