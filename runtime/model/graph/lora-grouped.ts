import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, type Graph, text } from '../onnx/index.ts';
import {
  checkLoraSpec,
  type LoraApply,
  type LoraGraphSpec,
  type LoraTarget,
  loraStackNames,
  loraTargetDims,
} from './lora.ts';

/*
 * The device step's form of many adapters in one step (Punica's BGMV shape): each token gathers its own
 * slot's matrices and multiplies against them. The projections that read one input (q, k and v; gate and
 * up) do it as one: their A matrices side by side ([in, n*R]) and their B matrices block-diagonal
 * ([n*R, sum of outs]), so a group costs one pair of gathers and products instead of one a projection.
 * Where the group's projections are one product too (device-layers.ts), the group's product is added
 * to it once, before its split. On ONNX Runtime's WebGPU provider a step costs about a dispatch per node,
 * whatever the node moves (BENCHMARKS.md); the block-diagonal B's zeros are bytes, which are cheap there.
 *
 * The stacks are [L*S, in, n*R] and [L*S, n*R, out total], row l*S + s for layer l's slot s as in the
 * host stacks (lora.ts), so a slot write replaces the same rows; a group of one keeps the host stack's
 * name and layout. The slots come as int32 in the step's pack (step-pack.ts).
 */

const { FLOAT: F } = DataType;

/** Projections that read one input. */
const GROUPS: readonly (readonly LoraTarget[])[] = [
  ['q_proj', 'k_proj', 'v_proj'],
  ['o_proj'],
  ['gate_proj', 'up_proj'],
  ['down_proj'],
];

/** A group's stack pair on the device. */
export interface DeviceLoraStacks {
  /** The group's targets, in the order their columns (A) and blocks (B) come. */
  readonly targets: readonly LoraTarget[];
  readonly a: { readonly name: string; readonly shape: readonly [number, number, number] };
  readonly b: { readonly name: string; readonly shape: readonly [number, number, number] };
}

/** The spec's targets in groups (group order, empty groups left out), with their stacks' names and shapes. */
export function deviceLoraStacks(a: ResolvedArchitecture, spec: LoraGraphSpec): DeviceLoraStacks[] {
  const LS = a.n_layer * spec.slots;
  const R = spec.maxRank;
  return GROUPS.map((g) => g.filter((t) => spec.targets.includes(t)))
    .filter((g) => g.length > 0)
    .map((targets) => {
      const names =
        targets.length === 1
          ? loraStackNames(targets[0]!)
          : { a: `lora_a_${targets.join('_')}`, b: `lora_b_${targets.join('_')}` };
      const input = loraTargetDims(a, targets[0]!).in;
      const out = targets.reduce((n, t) => n + loraTargetDims(a, t).out, 0);
      return {
        targets,
        a: { name: names.a, shape: [LS, input, targets.length * R] },
        b: { name: names.b, shape: [LS, targets.length * R, out] },
      };
    });
}

/** The stacks' names, as the step graph's inputs. */
export const deviceLoraStackNames = (a: ResolvedArchitecture, spec: LoraGraphSpec): string[] =>
  deviceLoraStacks(a, spec).flatMap((s) => [s.a.name, s.b.name]);

/**
 * Declares the stacks and returns the LoraApply: each layer's rows, each group's product (split per
 * target) made once. `slot` is the step's [T] int32 slots.
 */
export function groupedLora(
  g: Graph,
  a: ResolvedArchitecture,
  spec: LoraGraphSpec,
  slot: string,
): GroupedLoraApply {
  checkLoraSpec(a, spec);
  const groups = deviceLoraStacks(a, spec);
  for (const s of groups) {
    g.input(s.a.name, F, s.a.shape);
    g.input(s.b.name, F, s.b.shape);
  }
  const groupOf = new Map(groups.flatMap((s) => s.targets.map((t) => [t, s] as const)));
  const rows = new Map<number, string>();
  // Layer l's matrices of slot s are row l*S + s.
  const rowsOf = (l: number) => {
    let r = rows.get(l);
    if (r === undefined) {
      r = l === 0 ? slot : g.op('Add', [slot, g.const(l * spec.slots, 'int32')]);
      rows.set(l, r);
    }
    return r;
  };
  // A group's product [T, sum of outs] (its targets' columns side by side), made once a layer.
  const products = new Map<string, string>();
  const productOf = (x: string, l: number, s: DeviceLoraStacks) => {
    const key = `${l}|${s.a.name}`;
    let d = products.get(key);
    if (d === undefined) {
      const idx = rowsOf(l);
      const A = g.op('Gather', [s.a.name, idx], { axis: 0 }); // [T, in, n*R]
      const B = g.op('Gather', [s.b.name, idx], { axis: 0 }); // [T, n*R, outs]
      // Each token's row times its own matrices: two nodes, where batched MatMuls need the token's row
      // made [T, 1, in] and the result made [T, outs] again (four).
      const down = g.op('Einsum', [x, A], { equation: text('ti,tir->tr') }); // [T, n*R]
      d = g.op('Einsum', [down, B], { equation: text('tr,tro->to') }); // [T, outs]
      products.set(key, d);
    }
    return d;
  };
  // The product split per target, for projections made one by one.
  const splits = new Map<string, string[]>();
  const deltasOf = (x: string, l: number, s: DeviceLoraStacks) => {
    const key = `${l}|${s.a.name}`;
    let d = splits.get(key);
    if (d === undefined) {
      const delta = productOf(x, l, s);
      if (s.targets.length === 1) d = [delta];
      else {
        d = s.targets.map((t) => `${delta}_${t}`);
        g.node('Split', [delta, g.const(s.targets.map((t) => loraTargetDims(a, t).out))], d, { axis: 1 });
      }
      splits.set(key, d);
    }
    return d;
  };
  const apply: LoraApply = (x, y, l, t) => {
    const s = groupOf.get(t);
    if (!s) return y;
    return g.op('Add', [y, deltasOf(x, l, s)[s.targets.indexOf(t)]!]);
  };
  const delta: GroupedLoraApply['delta'] = (x, l, targets) => {
    const s = groupOf.get(targets[0]!);
    if (!s || s.targets.join() !== targets.join()) return undefined;
    return productOf(x, l, s);
  };
  return Object.assign(apply, { delta });
}

/**
 * The device step's LoraApply, and `delta`: a group's product for its projections made as one ([T, sum
 * of outs], in the group's target order), which the caller adds to that product; undefined when the
 * targets are not one group.
 */
export interface GroupedLoraApply extends LoraApply {
  delta: (x: string, l: number, targets: readonly LoraTarget[]) => string | undefined;
}
