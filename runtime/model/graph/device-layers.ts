import type { ResolvedArchitecture } from '../architecture.ts';
import { type Attrs, float, type Graph } from '../onnx/index.ts';
import { dimsOf, layerWeight as w, linear, norm, projection } from './layers.ts';
import type { LoraApply, LoraTarget } from './lora.ts';
import type { GroupedLoraApply } from './lora-grouped.ts';
import { ropeInvFreq } from './rope.ts';

/*
 * The device step's per-layer pieces as ONNX Runtime's fused kernels, which its WebGPU provider (and the
 * CPU's, for the device contract's tests in CI) implements: on that provider a step costs about a kernel
 * launch per node whatever the node computes (BENCHMARKS.md), so each piece here is one node where
 * layers.ts writes several. The host graph keeps layers.ts's ops, which graphs.py writes too.
 *   - a norm and the residual add before it: SkipSimplifiedLayerNormalization / SkipLayerNormalization
 *     (one node for six, or for two);
 *   - RoPE: RotaryEmbedding, reading cos/sin rows made once a step for the step's own tokens;
 *   - SiLU: QuickGelu with alpha 1 (x * sigmoid(x)); GELU: Gelu, GPT-2's tanh form FastGelu.
 */

/** The norm of layer 0's input (no residual to add yet): one node either way. */
export function firstNorm(g: Graph, a: ResolvedArchitecture, x: string, prefix: string): string {
  if (a.norm === 'layernorm') return norm(g, a, x, prefix);
  return g.op('SimplifiedLayerNormalization', [x, `${prefix}.w`], { axis: -1, epsilon: float(a.norm_eps) });
}

/** norm(x + skip) and x + skip itself (the residual stream's next value), in one node. */
export function skipNorm(
  g: Graph,
  a: ResolvedArchitecture,
  x: string,
  skip: string,
  prefix: string,
): { normed: string; sum: string } {
  const layer = a.norm === 'layernorm';
  const inputs = layer ? [x, skip, `${prefix}.w`, `${prefix}.b`] : [x, skip, `${prefix}.w`];
  const op = layer ? 'SkipLayerNormalization' : 'SkipSimplifiedLayerNormalization';
  const [normed, sum] = g.contribOutputs(op, inputs, [0, 3], { epsilon: float(a.norm_eps) });
  return { normed: normed!, sum: sum! };
}

/** The step's RoPE rows: cos and sin [T, dim/2] of each token's position, for RotaryEmbedding. */
export interface RotaryRows {
  readonly cos: string;
  readonly sin: string;
  /** [1]: zero, so token t reads row t (RotaryEmbedding adds the sequence index to a single offset). */
  readonly offset: string;
  /** The rotated dimensions when fewer than the head's (partial rotation), else undefined. */
  readonly partialDim: number | undefined;
}

/**
 * cos/sin of position x frequency for this step's tokens only (positions [T] float32, as the step's
 * pack brings them), in float32 as HF computes them (as rope.ts does), so no table sized by the context
 * length is needed.
 */
export function rotaryRows(g: Graph, a: ResolvedArchitecture, positions: string): RotaryRows | undefined {
  if (a.position !== 'rope') return undefined;
  const rope = a.rope!;
  const inv = ropeInvFreq(rope, a.head_dim);
  const pos = g.op('Unsqueeze', [positions, g.const([1])]); // [T,1]
  const angle = g.op('Mul', [pos, g.const([...inv], 'float32')]); // [T,dim/2]
  return {
    cos: g.op('Cos', [angle]),
    sin: g.op('Sin', [angle]),
    offset: g.const([0]),
    partialDim: 2 * inv.length < a.head_dim ? 2 * inv.length : undefined,
  };
}

/** x [T, heads*Dh] rotated per head by its token's position (HF's rotate_half, not interleaved). */
function rotate(g: Graph, x: string, heads: number, r: RotaryRows): string {
  const rows = g.op('Unsqueeze', [x, g.const([0])]); // [1,T,heads*Dh]: one batch of T tokens
  // Partial rotation names its dimensions, and then the heads they are counted in.
  const attrs: Attrs = r.partialDim ? { rotary_embedding_dim: r.partialDim, num_heads: heads } : {};
  return g.contrib('RotaryEmbedding', [rows, r.offset, r.cos, r.sin], { interleaved: 0, ...attrs });
}

/**
 * Layer l's queries [T, KVH, G, Dh] (not scaled: the attention kernel scales), and its keys and values as
 * the pool stores a token's (KVH*Dh wide): keys [1, T, KVH*Dh] when rotated (RotaryEmbedding's batch of
 * one), else [T, KVH*Dh]; values [T, KVH*Dh]. With `fuse`, q, k and v are one product (fusedQkv).
 */
export function deviceQkv(
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  rope: RotaryRows | undefined,
  lora: GroupedLoraApply | undefined,
  fuse: boolean,
): { q: string; k: string; v: string; keysBatched: boolean } {
  const { H, KVH, G, Dh } = dimsOf(a);
  const made = fuse
    ? fusedQkv(g, a, h, l, lora)
    : {
        q: projection(g, a, h, l, 'q', lora),
        k: projection(g, a, h, l, 'k', lora),
        v: projection(g, a, h, l, 'v', lora),
      };
  const q = rope ? rotate(g, made.q, H, rope) : made.q;
  const k = rope ? rotate(g, made.k, KVH, rope) : made.k;
  return { q: g.reshape(q, [-1, KVH, G, Dh]), k, v: made.v, keysBatched: rope !== undefined };
}

const QKV = ['q', 'k', 'v'] as const;
const QKV_TARGETS: readonly LoraTarget[] = ['q_proj', 'k_proj', 'v_proj'];

/** Layer l's q, k and v weights, in the order fusedQkv puts them side by side. */
export const qkvWeights = (l: number): string[] => QKV.map((s) => w(l, `w${s}`));

/**
 * q, k and v as one product split three ways: h @ [Wq | Wk | Wv] (+ [bq | bk | bv]), with the adapters'
 * q, k and v product added before the split when they are one group (lora-grouped.ts). The weights'
 * Concat reads initializers only, so ONNX Runtime folds it when the session opens: the step runs one
 * product (with its bias) where it ran three. Not for 4-bit weights, which MatMulNBits reads as they
 * are stored (the caller decides).
 */
function fusedQkv(
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  lora: GroupedLoraApply | undefined,
) {
  return splitQkv(g, a, h, l, qkvProduct(g, a, h, l, lora), lora);
}

/** The q/k/v product split three ways (with each part's own adapters' product when the group's was not added). */
function splitQkv(
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  product: { y: string; delta: string | undefined },
  lora: LoraApply | undefined,
) {
  const { H, KVH, Dh } = dimsOf(a);
  const [q, k, v] = splitProduct(g, h, l, product, [H * Dh, KVH * Dh, KVH * Dh], QKV_TARGETS, lora);
  return { q: q!, k: k!, v: v! };
}

/** h @ [Wq | Wk | Wv] (+ biases), the adapters' q/k/v product added when they are one group. */
const qkvProduct = (
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  lora: GroupedLoraApply | undefined,
) => groupProduct(g, h, l, qkvWeights(l), a.qkv_bias && QKV.map((s) => w(l, `b${s}`)), QKV_TARGETS, lora);

/**
 * Projections that read one input as one product: h @ [W1 | W2 ...] (+ [b1 | b2 ...]), with the
 * adapters' product of those targets added once when they are one group (`delta` says it was).
 */
function groupProduct(
  g: Graph,
  h: string,
  l: number,
  weights: readonly string[],
  biases: readonly string[] | false,
  targets: readonly LoraTarget[],
  lora: GroupedLoraApply | undefined,
): { y: string; delta: string | undefined } {
  const weight = g.op('Concat', weights, { axis: 1 });
  const bias = biases && g.op('Concat', biases, { axis: 0 });
  const delta = lora?.delta(h, l, targets);
  return { y: linearWith(g, h, weight, bias, delta), delta };
}

/** A group product split per target, each part with its own adapters' product added if the group's was not. */
function splitProduct(
  g: Graph,
  h: string,
  l: number,
  { y, delta }: { y: string; delta: string | undefined },
  sizes: readonly number[],
  targets: readonly LoraTarget[],
  lora: LoraApply | undefined,
): string[] {
  const parts = targets.map((t) => `${y}_${t}`);
  g.node('Split', [y, g.const(sizes)], parts, { axis: 1 });
  return delta || !lora ? parts : parts.map((p, i) => lora(h, p, l, targets[i]!));
}

/**
 * Layer l's q, k and v side by side [T, (H + 2*KVH)*Dh], not rotated: what PagedAttention reads
 * (paged-attention.ts). One product when `fuse` and the adapters (if any) add theirs as one group; else
 * the three made one by one and concatenated.
 */
export function devicePackedQkv(
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  lora: GroupedLoraApply | undefined,
  fuse: boolean,
): string {
  let made;
  if (fuse) {
    const product = qkvProduct(g, a, h, l, lora);
    if (product.delta || !lora) return product.y;
    made = splitQkv(g, a, h, l, product, lora);
  } else
    made = {
      q: projection(g, a, h, l, 'q', lora),
      k: projection(g, a, h, l, 'k', lora),
      v: projection(g, a, h, l, 'v', lora),
    };
  return g.op('Concat', [made.q, made.k, made.v], { axis: 1 });
}

/**
 * x @ W (+ bias) + an adapter group's product. The product is added after the MatMul, not given as a
 * Gemm's C: on the H100 the Gemm form ran the demo's adapter steps about 5% slower than MatMul and Add
 * though it has fewer nodes (BENCHMARKS.md, LoRA section).
 */
function linearWith(
  g: Graph,
  x: string,
  weight: string,
  bias: string | false,
  delta: string | undefined,
): string {
  const y = linear(g, x, weight, bias);
  return delta ? g.op('Add', [y, delta]) : y;
}

/** Whether a weight is stored as floats (not 4-bit blocks): it can be concatenated with others. */
export type IsFloatWeight = (name: string) => boolean;

/** Layer l's attention output [T, H*Dh] projected back to the model's width (the residual add is skipNorm's). */
export function outputProjection(
  g: Graph,
  a: ResolvedArchitecture,
  out: string,
  l: number,
  lora?: GroupedLoraApply,
): string {
  return linearWith(g, out, w(l, 'wo'), a.o_bias && w(l, 'bo'), lora?.delta(out, l, ['o_proj']));
}

/**
 * The MLP of the normed stream h (without the residual add, which the next skipNorm does). A gated MLP's
 * gate and up are one product split two ways when both weights are float (as q, k and v are).
 */
export function deviceMlp(
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  isFloat: IsFloatWeight,
  lora?: GroupedLoraApply,
): string {
  const bias = (name: string) => a.mlp_bias && w(l, name);
  const down = (x: string) =>
    linearWith(g, x, w(l, 'w_down'), bias('b_down'), lora?.delta(x, l, ['down_proj']));
  if (a.mlp === 'swiglu') {
    const [gate, up] = gateUp(g, a, h, l, isFloat, lora);
    return down(g.op('Mul', [g.contrib('QuickGelu', [gate!], { alpha: float(1) }), up!]));
  }
  const inner = linear(g, h, w(l, 'fc1'), bias('b1'));
  const act = g.contrib(a.mlp === 'gelu' ? 'Gelu' : 'FastGelu', [inner]);
  return linear(g, act, w(l, 'fc2'), bias('b2'));
}

const GATE_UP = ['gate', 'up'] as const;
const GATE_UP_TARGETS: readonly LoraTarget[] = ['gate_proj', 'up_proj'];

/** A gated MLP's gate and up projections of h, as one product when both weights are float. */
function gateUp(
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  isFloat: IsFloatWeight,
  lora: GroupedLoraApply | undefined,
): string[] {
  const weights = GATE_UP.map((s) => w(l, `w_${s}`));
  const biases = a.mlp_bias && GATE_UP.map((s) => w(l, `b_${s}`));
  if (!weights.every(isFloat))
    return GATE_UP.map((_, i) =>
      linear(g, h, weights[i]!, biases && biases[i]!, lora && { apply: lora, l, t: GATE_UP_TARGETS[i]! }),
    );
  const product = groupProduct(g, h, l, weights, biases, GATE_UP_TARGETS, lora);
  return splitProduct(g, h, l, product, [a.d_ff, a.d_ff], GATE_UP_TARGETS, lora);
}
