import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, Graph } from '../onnx/index.ts';
import { checkLoraSpec, type LoraGraphSpec } from './lora.ts';
import { deviceLoraStacks } from './lora-grouped.ts';

/*
 * The device step's adapter slot stacks (lora-grouped.ts) kept on the device, as the device contract keeps its KV pools
 * (device-engine.ts): made zeroed there, then a slot's rows are scattered in when an adapter is written
 * to it, so a step feeds the stacks it holds and only the written adapter's rows cross the bus, once.
 */

const { FLOAT: F, INT64: I } = DataType;

/** The output a stack comes back as from the write graph (`lora_a_q_proj` → `lora_a_q_proj_out`). */
export const loraStackOut = (name: string): string => `${name}_out`;
/** A stack's new rows in the write graph, split from its pack (`lora_a_q_proj` → `lora_a_q_proj_rows`). */
export const loraStackRows = (name: string): string => `${name}_rows`;
/** The stack rows the write graph replaces: layer l's slot s is row l*S + s. */
export const LORA_WRITE_ROWS = 'lora_rows';
/** [N] float32: every stack's new rows, one stack after another in loraStackShapes' order. */
export const LORA_WRITE_PACK = 'lora_rows_packed';
/** [stacks] int64, read on the host: each stack's share of the pack. */
export const LORA_WRITE_PACK_SIZES = 'lora_rows_sizes';

/** Every device stack's name and shape (lora-grouped.ts), each group's A then its B. */
export function loraStackShapes(a: ResolvedArchitecture, spec: LoraGraphSpec): [string, number[]][] {
  return deviceLoraStacks(a, spec).flatMap((s) => [
    [s.a.name, [...s.a.shape]],
    [s.b.name, [...s.b.shape]],
  ]);
}

/**
 * Zeroed stacks made on the device (no input). Open it with the optimizer off: stacks of equal shapes
 * (q and k's A, say) merged as equal subexpressions would be one buffer, freed twice.
 */
export function loraStacksInitGraph(a: ResolvedArchitecture, spec: LoraGraphSpec): Graph {
  checkLoraSpec(a, spec);
  const g = new Graph('warmgate_lora_stacks_init');
  for (const [name, shape] of loraStackShapes(a, spec)) {
    g.node('ConstantOfShape', [g.const(shape)], [name]);
    g.output(name, F, shape);
  }
  return g;
}

/**
 * Rows `lora_rows` [K] of every stack replaced; the stacks come back as `_out`. The new rows of all the
 * stacks travel as one float32 tensor (`lora_rows_packed`, each stack's [K, ...] in turn) split on the
 * device by `lora_rows_sizes` (read on the host): on WebGPU each host tensor a run costs a copy of its
 * own (BENCHMARKS.md), so a slot write sends two, not one a stack.
 */
export function loraStacksWriteGraph(a: ResolvedArchitecture, spec: LoraGraphSpec): Graph {
  checkLoraSpec(a, spec);
  const g = new Graph('warmgate_lora_stacks_write');
  const rows = g.op('Unsqueeze', [g.input(LORA_WRITE_ROWS, I, ['K']), g.const([1])]); // [K,1]
  const shapes = loraStackShapes(a, spec);
  const pieces = shapes.map(([name]) => loraStackRows(name));
  g.node(
    'Split',
    [g.input(LORA_WRITE_PACK, F, ['N']), g.input(LORA_WRITE_PACK_SIZES, I, [shapes.length])],
    pieces,
    { axis: 0 },
  );
  shapes.forEach(([name, shape], i) => {
    const stack = g.input(name, F, shape);
    const update = g.reshape(pieces[i]!, [-1, shape[1]!, shape[2]!]); // [K, ...]
    g.node('ScatterND', [stack, rows, update], [loraStackOut(name)]);
    g.output(loraStackOut(name), F, shape);
  });
  return g;
}
