import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, Graph, subgraph } from '../onnx/index.ts';
import { GraphBuildError } from './graph-build-error.ts';

/**
 * Many LoRA adapters in one step (Punica / S-LoRA's batched gather): every token runs under an adapter
 * slot, and each target projection adds that slot's low-rank product to the base output,
 * y = x W + (x A_slot) B_slot, with the adapter's scale folded into B. The slots' matrices are graph
 * inputs, stacked over layers and slots ([L*S, in, R] and [L*S, R, out]); slot 0 is zeros (the base
 * model). This is the host step graph's form (engine.onnx): the step's tokens come grouped into segments
 * of one slot each (engine/runner/adapter-segments.ts), a slot's matrices are gathered once per segment,
 * the segment's tokens multiply against them as one batch row, and each token reads its delta back from
 * its cell. The device step graph gathers per token instead, q, k and v as one (lora-grouped.ts): its
 * provider is bound by kernel dispatches, not bytes. A graph built without a spec has none of this: no
 * inputs, no nodes.
 */

/** PEFT's names for the projections an adapter may target (Llama-style models). */
export const LORA_TARGETS = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** The most rank a slot may hold (the bound; a slot is padded to the configured maxRank). */
export const MAX_LORA_RANK = 64;

/** What the adapter-capable graph is built for: fixed, so the graph and the slot memory agree. */
export interface LoraGraphSpec {
  /** Slots including slot 0 (no adapter): at most slots - 1 adapters are resident at once. */
  readonly slots: number;
  /** Rank every slot is padded to (1..64). */
  readonly maxRank: number;
  /** The projections the graph adds adapters to; an adapter may target these only. */
  readonly targets: readonly LoraTarget[];
}

/** Input and output features of a target projection: its A is [r, in] and B [out, r] in PEFT's layout. */
export function loraTargetDims(a: ResolvedArchitecture, t: LoraTarget): { in: number; out: number } {
  const d = a.d_model;
  const q = a.n_head * a.head_dim;
  const kv = a.n_kv_head * a.head_dim;
  const dims: Record<LoraTarget, [number, number]> = {
    q_proj: [d, q],
    k_proj: [d, kv],
    v_proj: [d, kv],
    o_proj: [q, d],
    gate_proj: [d, a.d_ff],
    up_proj: [d, a.d_ff],
    down_proj: [a.d_ff, d],
  };
  const [i, o] = dims[t];
  return { in: i, out: o };
}

/** [U]: each segment's slot. */
export const ADAPTER_SEGMENT_SLOT_INPUT = 'adapter_segment_slot';
/** [U, P]: the tokens of each segment (padded with one of its own). */
export const ADAPTER_SEGMENT_TOKENS_INPUT = 'adapter_segment_tokens';
/** [T]: each token's cell in the flattened [U * P] segment grid. */
export const ADAPTER_TOKEN_ROW_INPUT = 'adapter_token_row';
/**
 * engine.onnx with adapters: true when any token of the step names an adapter. A step of base-model tokens
 * only skips every adapter product (their gathers cost as much with slot 0's zeros).
 */
export const ADAPTER_ANY_INPUT = 'adapter_any';
export const loraStackNames = (t: LoraTarget) => ({ a: `lora_a_${t}`, b: `lora_b_${t}` });

/** Refuses a spec the architecture cannot take (GraphBuildError, as any other build problem). */
export function checkLoraSpec(a: ResolvedArchitecture, spec: LoraGraphSpec): void {
  const bad = (m: string) => new GraphBuildError('lora_spec_invalid', m);
  if (!Number.isInteger(spec.slots) || spec.slots < 2 || spec.slots > 4096)
    throw bad(`adapter slots must be an integer 2..4096 (slot 0 is the base model), got ${spec.slots}`);
  if (!Number.isInteger(spec.maxRank) || spec.maxRank < 1 || spec.maxRank > MAX_LORA_RANK)
    throw bad(`adapter maxRank must be an integer 1..${MAX_LORA_RANK}, got ${spec.maxRank}`);
  if (spec.targets.length === 0) throw bad('adapter targets are empty: name at least one projection');
  for (const t of spec.targets) {
    if (!LORA_TARGETS.includes(t)) throw bad(`adapter target ${t} is not one of ${LORA_TARGETS.join(', ')}`);
    if (['gate_proj', 'up_proj', 'down_proj'].includes(t) && a.mlp !== 'swiglu')
      throw bad(`adapter target ${t} needs a gated (swiglu) MLP; this model's MLP is ${a.mlp}`);
  }
}

/** The inputs that place a step's tokens in segments. */
export const LORA_SEGMENT_INPUTS: readonly string[] = [
  ADAPTER_SEGMENT_SLOT_INPUT,
  ADAPTER_SEGMENT_TOKENS_INPUT,
  ADAPTER_TOKEN_ROW_INPUT,
];

/** Declares the adapter inputs (in an If's branch this records them for the enclosing graph). */
export function declareLoraInputs(g: Graph, a: ResolvedArchitecture, spec: LoraGraphSpec): void {
  const LS = a.n_layer * spec.slots;
  g.input(ADAPTER_SEGMENT_SLOT_INPUT, DataType.INT64, ['U']);
  g.input(ADAPTER_SEGMENT_TOKENS_INPUT, DataType.INT64, ['U', 'P']);
  g.input(ADAPTER_TOKEN_ROW_INPUT, DataType.INT64, ['T']);
  g.input(ADAPTER_ANY_INPUT, DataType.BOOL, [1]);
  for (const t of spec.targets) {
    const d = loraTargetDims(a, t);
    const n = loraStackNames(t);
    g.input(n.a, DataType.FLOAT, [LS, d.in, spec.maxRank]);
    g.input(n.b, DataType.FLOAT, [LS, spec.maxRank, d.out]);
  }
}

/** Adds the adapters' product to a projection's output y of input x: y, or y + delta when targeted. */
export type LoraApply = (x: string, y: string, l: number, t: LoraTarget) => string;

/**
 * The LoraApply of one step graph. Each targeted projection's product sits in an If on adapter_any, so a
 * step of base-model tokens only runs none of it (the gathers cost as much for slot 0's zeros as for an
 * adapter). The If is around the product, not around the step: ONNX Runtime pre-packs a weight for the
 * CPU's MatMul only one graph level below the weight, and a step nested in two Ifs ran its projections
 * unpacked (BENCHMARKS.md, LoRA). Each layer's stack rows and each input's cells are made once, outside
 * the Ifs: on a base-only step the host sends no segments, so they are empty.
 */
export function loraApply(g: Graph, a: ResolvedArchitecture, spec: LoraGraphSpec): LoraApply {
  // Layer l's matrices of slot s are row l*S + s of the stacks: each layer's rows are made once.
  const rowsOf = new Map<number, string>();
  const rows = (l: number) => {
    let r = rowsOf.get(l);
    if (r === undefined) {
      r =
        l === 0
          ? ADAPTER_SEGMENT_SLOT_INPUT
          : g.op('Add', [ADAPTER_SEGMENT_SLOT_INPUT, g.const(l * spec.slots)]);
      rowsOf.set(l, r);
    }
    return r;
  };
  // q, k and v read one input: its cells are laid out once.
  const cellsOf = new Map<string, string>();
  const cells = (x: string) => {
    let c = cellsOf.get(x);
    if (c === undefined) {
      c = g.op('Gather', [x, ADAPTER_SEGMENT_TOKENS_INPUT], { axis: 0 }); // [U, P, in]
      cellsOf.set(x, c);
    }
    return c;
  };
  return (x, y, l, t) => {
    if (!spec.targets.includes(t)) return y;
    const n = loraStackNames(t);
    const name = `lora_${l}_${t}`;
    const adapted = new Graph(`${name}_adapted`, { prefix: `${g.prefix}${name}/`, subgraph: true });
    const ma = adapted.op('Gather', [n.a, rows(l)], { axis: 0 }); // [U, in, R]
    const mb = adapted.op('Gather', [n.b, rows(l)], { axis: 0 }); // [U, R, out]
    const product = adapted.matmul(adapted.matmul(cells(x), ma), mb); // [U, P, out]
    const flat = adapted.op('Flatten', [product], { axis: 2 });
    const delta = adapted.op('Gather', [flat, ADAPTER_TOKEN_ROW_INPUT], { axis: 0 });
    adapted.op('Add', [y, delta], {}, 'out');
    const unchanged = new Graph(`${name}_base`, { prefix: `${g.prefix}${name}/base/`, subgraph: true });
    unchanged.op('Identity', [y], {}, 'out');
    const shape = ['T', loraTargetDims(a, t).out];
    adapted.output('out', DataType.FLOAT, shape);
    unchanged.output('out', DataType.FLOAT, shape);
    const out = `${g.prefix}${name}`;
    g.node('If', [ADAPTER_ANY_INPUT], [out], {
      then_branch: subgraph(adapted.asSubgraph()),
      else_branch: subgraph(unchanged.asSubgraph()),
    });
    return out;
  };
}
