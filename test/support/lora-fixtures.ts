// The PEFT LoRA adapters of the llama fixture (test/fixtures/hf/llama/adapters, written by
// runtime/model/py/make_hf_fixtures.py with transformers + peft) and the goldens of the merged models.
import { join } from 'node:path';
import type { LoraGraphSpec } from '../../runtime/model/graph/index.ts';
import { HF_FIXTURES, type HfGolden, readHfGolden } from './hf-golden.ts';

export const LORA_ADAPTERS = ['lora-r4-qv', 'lora-r8-all'] as const;
export type LoraFixture = (typeof LORA_ADAPTERS)[number];

export const loraDir = (name: LoraFixture): string => join(HF_FIXTURES, 'llama', 'adapters', name);

/** Goldens of the model merged as W + (alpha/r) B A: prompts, greedy tokens, logits rows. */
export const loraGolden = (name: LoraFixture): HfGolden => readHfGolden(name, loraDir(name));

/** The instance's adapter slots in these tests: every target PEFT commonly produces, rank up to 8. */
export const LORA_SPEC: LoraGraphSpec = {
  slots: 3,
  maxRank: 8,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};

/** max |got - want| / max |want| over one logits row. */
export function rowRelError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}
