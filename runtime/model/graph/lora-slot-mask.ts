import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, type Graph } from '../onnx/index.ts';
import {
  ADAPTER_SLOT_INPUT,
  checkLoraSpec,
  type LoraApply,
  type LoraGraphSpec,
  type LoraTarget,
  loraTargetDims,
} from './lora.ts';

/*
 * The device step's form of many adapters in one step: every resident slot's low-rank product at once,
 * kept for each token's own slot by a mask. Per layer and target projection that is three nodes
 * (x·Aᵀ over all slots, the mask, and ·B added to the base output in one Gemm), where gathering each
 * token's matrices takes six; q, k and v (and gate and up) read one input, so they share the first
 * product and its mask. On ONNX Runtime's WebGPU provider a step costs about a dispatch per node
 * (BENCHMARKS.md), and the extra arithmetic (S slots' products instead of one) is small beside it at
 * adapter ranks. The host graph (lora.ts, segments) multiplies each token by its own slot only: on the
 * CPU the arithmetic is the cost.
 *
 * The stacks are per layer, laid out for these products:
 *   A of a group (the targets sharing an input, in LORA_TARGETS order): [n*S*R, in], row (k*S + s)*R + r
 *     is target k's slot s's A column r (PEFT's lora_A row r);
 *   B of a target: [S*R, out], row s*R + r is slot s's B row r (scale folded in, as in the host stacks).
 * Slot 0 stays zeros (the base model).
 */

const { FLOAT: F, INT64: I } = DataType;

/** Projections that read one input, so one product of theirs covers the group. */
const GROUPS: readonly (readonly LoraTarget[])[] = [
  ['q_proj', 'k_proj', 'v_proj'],
  ['o_proj'],
  ['gate_proj', 'up_proj'],
  ['down_proj'],
];

/** One per-layer stack of the device form: a group's A or a target's B. */
export interface DeviceLoraStack {
  readonly name: string;
  readonly layer: number;
  readonly kind: 'a' | 'b';
  /** The A's group members in row order, or the B's one target. */
  readonly targets: readonly LoraTarget[];
  /** [rows, cols]: [n*S*R, in] for an A, [S*R, out] for a B. */
  readonly shape: readonly [number, number];
}

/** The spec's targets in their groups (members in group order, empty groups left out). */
function groupsOf(spec: LoraGraphSpec): LoraTarget[][] {
  return GROUPS.map((g) => g.filter((t) => spec.targets.includes(t))).filter((g) => g.length > 0);
}

/** Every stack of the device form, layer by layer, A before B. */
export function deviceLoraStacks(a: ResolvedArchitecture, spec: LoraGraphSpec): DeviceLoraStack[] {
  const SR = spec.slots * spec.maxRank;
  const out: DeviceLoraStack[] = [];
  for (let l = 0; l < a.n_layer; l++)
    for (const group of groupsOf(spec)) {
      const input = loraTargetDims(a, group[0]!).in;
      out.push({
        name: `lora_a_${l}_${group.join('_')}`,
        layer: l,
        kind: 'a',
        targets: group,
        shape: [group.length * SR, input],
      });
      for (const t of group)
        out.push({
          name: `lora_b_${l}_${t}`,
          layer: l,
          kind: 'b',
          targets: [t],
          shape: [SR, loraTargetDims(a, t).out],
        });
    }
  return out;
}

/** The inputs the device form reads: each token's slot, then the stacks. */
export const deviceLoraInputs = (a: ResolvedArchitecture, spec: LoraGraphSpec): string[] => [
  ADAPTER_SLOT_INPUT,
  ...deviceLoraStacks(a, spec).map((s) => s.name),
];

/** Declares the device form's inputs and returns its LoraApply. */
export function slotMaskLora(g: Graph, a: ResolvedArchitecture, spec: LoraGraphSpec): LoraApply {
  checkLoraSpec(a, spec);
  const R = spec.maxRank;
  const S = spec.slots;
  const slot = g.input(ADAPTER_SLOT_INPUT, I, ['T']);
  const stacks = new Map<string, DeviceLoraStack>();
  for (const s of deviceLoraStacks(a, spec)) {
    g.input(s.name, F, s.shape);
    stacks.set(s.kind === 'a' ? `a|${s.layer}|${s.targets[0]}` : `b|${s.layer}|${s.targets[0]}`, s);
  }
  const groupOf = new Map(groupsOf(spec).flatMap((grp) => grp.map((t) => [t, grp] as const)));

  // [T, n*S*R]: 1 where the column's slot is the token's, made once a step per group width.
  let slotColumn: string | undefined;
  const masks = new Map<number, string>();
  const maskOf = (n: number) => {
    let m = masks.get(n);
    if (m === undefined) {
      slotColumn ??= g.op('Unsqueeze', [slot, g.const([1])]); // [T,1]
      const columnSlot = Array.from({ length: n * S * R }, (_, j) => Math.floor(j / R) % S);
      const same = g.op('Equal', [slotColumn, g.const(columnSlot, 'int64', [1, n * S * R])]);
      m = g.op('Cast', [same], { to: F });
      masks.set(n, m);
    }
    return m;
  };

  // Each group's masked product, split per member, made once per layer.
  const parts = new Map<string, string[]>();
  const partsOf = (x: string, l: number, group: readonly LoraTarget[]) => {
    const key = `${l}|${group[0]}`;
    let p = parts.get(key);
    if (p === undefined) {
      const A = stacks.get(`a|${l}|${group[0]}`)!;
      const product = g.op('Gemm', [x, A.name], { transB: 1 }); // [T, n*S*R]
      const masked = g.op('Mul', [product, maskOf(group.length)]);
      if (group.length === 1) p = [masked];
      else {
        p = group.map((t) => `${masked}_${t}`);
        g.node('Split', [masked, g.const(group.map(() => S * R))], p, { axis: 1 });
      }
      parts.set(key, p);
    }
    return p;
  };

  return (x, y, l, t) => {
    const group = groupOf.get(t);
    if (!group) return y;
    const part = partsOf(x, l, group)[group.indexOf(t)]!;
    return g.op('Gemm', [part, stacks.get(`b|${l}|${t}`)!.name, y]); // y + part·B
  };
}
