import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, Graph } from '../onnx/index.ts';
import { checkLoraSpec, type LoraGraphSpec } from './lora.ts';
import { deviceLoraStacks } from './lora-slot-mask.ts';

/*
 * The device step's adapter slot stacks (lora-slot-mask.ts) kept on the device, as the device contract
 * keeps its KV pools (device-engine.ts): made zeroed there, then a slot's rows are scattered in when an
 * adapter is written to it, so a step feeds the stacks it holds and only the written adapter's rows cross
 * the bus, once.
 */

const { FLOAT: F, INT64: I } = DataType;

/** The output a stack comes back as from the write graph (`lora_a_0_q_proj_k_proj_v_proj` → `..._out`). */
export const loraStackOut = (name: string): string => `${name}_out`;
/** The write graph's new rows of a stack [K, cols]. */
export const loraStackRows = (name: string): string => `${name}_rows`;
/** The write graph's row numbers [K] of a stack that its `_rows` replace. */
export const loraStackIndex = (name: string): string => `${name}_index`;

/**
 * Zeroed stacks made on the device (no input). Open it with the optimizer off: stacks of equal shapes
 * (q and k's B, say) merged as equal subexpressions would be one buffer, freed twice.
 */
export function loraStacksInitGraph(a: ResolvedArchitecture, spec: LoraGraphSpec): Graph {
  checkLoraSpec(a, spec);
  const g = new Graph('warmgate_lora_stacks_init');
  for (const { name, shape } of deviceLoraStacks(a, spec)) {
    g.node('ConstantOfShape', [g.const(shape)], [name]);
    g.output(name, F, shape);
  }
  return g;
}

/** Rows `_index` [K] of every stack replaced by its `_rows` [K, cols]; the stacks come back as `_out`. */
export function loraStacksWriteGraph(a: ResolvedArchitecture, spec: LoraGraphSpec): Graph {
  checkLoraSpec(a, spec);
  const g = new Graph('warmgate_lora_stacks_write');
  for (const { name, shape } of deviceLoraStacks(a, spec)) {
    const stack = g.input(name, F, shape);
    const index = g.input(loraStackIndex(name), I, [`K_${name}`]);
    const rows = g.input(loraStackRows(name), F, [`K_${name}`, shape[1]]);
    g.node('ScatterND', [stack, g.op('Unsqueeze', [index, g.const([1])]), rows], [loraStackOut(name)]);
    g.output(loraStackOut(name), F, shape);
  }
  return g;
}
