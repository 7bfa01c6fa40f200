import type { ResolvedArchitecture } from '../architecture.ts';
import type { Graph } from '../onnx/index.ts';
import type { LoraApply, LoraTarget } from './lora.ts';
import { ropeTables, type RopeTables, rotate } from './rope.ts';

/**
 * The per-layer pieces every graph shares (norms, projections, MLP, embedding, logits), each in the
 * variant the architecture names. The default variants emit the very nodes graphs.py emits, in its order.
 */

/** Shapes the graphs are written in: G query heads share each of KVH key/value heads of Dh dims. */
export interface Dims {
  readonly L: number;
  readonly H: number;
  readonly KVH: number;
  readonly G: number;
  readonly Dh: number;
  readonly V: number;
}

export const dimsOf = (a: ResolvedArchitecture): Dims => ({
  L: a.n_layer,
  H: a.n_head,
  KVH: a.n_kv_head,
  G: a.n_head / a.n_kv_head,
  Dh: a.head_dim,
  V: a.vocab_size,
});

/** Layer l's weight `name` in the weights file (l0.wq, l3.ln2.w, ...). */
export const layerWeight = (l: number, name: string) => `l${l}.${name}`;
const w = layerWeight;

/**
 * x @ W, plus the bias when the architecture has one there, plus the adapters' product when the graph
 * takes adapters and this projection is one of their targets (lora.ts).
 */
export function linear(
  g: Graph,
  x: string,
  weight: string,
  bias: string | false,
  lora?: { apply: LoraApply; l: number; t: LoraTarget },
): string {
  const y = g.matmul(x, weight);
  const biased = bias ? g.op('Add', [y, bias]) : y;
  return lora ? lora.apply(x, biased, lora.l, lora.t) : biased;
}

/** LayerNorm (weight and bias), or RMSNorm x * w / sqrt(mean(x^2) + eps) in the op pattern ONNX Runtime fuses. */
export function norm(g: Graph, a: ResolvedArchitecture, x: string, prefix: string): string {
  if (a.norm === 'layernorm') return g.layerNorm(x, `${prefix}.w`, `${prefix}.b`, a.norm_eps);
  const ms = g.op('ReduceMean', [g.op('Pow', [x, g.const(2, 'float32')]), g.const([-1])], { keepdims: 1 });
  const rms = g.op('Sqrt', [g.op('Add', [ms, g.const(a.norm_eps, 'float32')])]);
  return g.op('Mul', [g.op('Div', [x, rms]), `${prefix}.w`]);
}

/** The token embedding, plus the learned position embedding when the model has one. */
export function embed(g: Graph, a: ResolvedArchitecture, ids: string, positions: string): string {
  const tok = g.op('Gather', ['tok_emb', ids], { axis: 0 });
  if (a.position === 'rope') return tok;
  return g.op('Add', [tok, g.op('Gather', ['pos_emb', positions], { axis: 0 })]);
}

/** RoPE's tables for this step's positions, or none for learned positions. */
export function rotaryTables(g: Graph, a: ResolvedArchitecture, positions: string): RopeTables | undefined {
  return a.position === 'rope' ? ropeTables(g, a, positions) : undefined;
}

/** Layer l's query, key or value projection of the normed stream h: [T, heads * Dh]. */
export function projection(
  g: Graph,
  a: ResolvedArchitecture,
  h: string,
  l: number,
  which: 'q' | 'k' | 'v',
  lora?: LoraApply,
): string {
  const t = `${which}_proj` as const;
  return linear(g, h, w(l, `w${which}`), a.qkv_bias && w(l, `b${which}`), lora && { apply: lora, l, t });
}

export interface Qkv {
  /** [T, KVH, G, Dh], rotated and pre-scaled by 1/sqrt(Dh). */
  readonly q: string;
  /** [T, KVH, Dh], rotated: what the KV cache holds. */
  readonly k: string;
  readonly v: string;
}

/** Layer l's queries, keys and values from the residual stream x; records the new keys and values. */
export function qkv(
  g: Graph,
  a: ResolvedArchitecture,
  x: string,
  l: number,
  scale: string,
  rope: RopeTables | undefined,
  newKeys: string[],
  newValues: string[],
  lora?: LoraApply,
): Qkv {
  const { KVH, G, Dh } = dimsOf(a);
  const h = norm(g, a, x, w(l, 'ln1'));
  let q: string;
  let k: string;
  if (rope) {
    // Rotate before the pre-scale (HF scales the scores), and keys before they go to the cache.
    const qr = g.reshape(projection(g, a, h, l, 'q', lora), [-1, KVH, G, Dh]);
    q = g.op('Mul', [rotate(g, qr, rope.partner, rope.cosQ, rope.sinQ), scale]);
    k = rotate(
      g,
      g.reshape(projection(g, a, h, l, 'k', lora), [-1, KVH, Dh]),
      rope.partner,
      rope.cos,
      rope.sin,
    );
  } else {
    q = g.reshape(g.op('Mul', [projection(g, a, h, l, 'q', lora), scale]), [-1, KVH, G, Dh]);
    k = g.reshape(projection(g, a, h, l, 'k', lora), [-1, KVH, Dh]);
  }
  const v = g.reshape(projection(g, a, h, l, 'v', lora), [-1, KVH, Dh]);
  newKeys.push(g.op('Unsqueeze', [k, g.const([0])]));
  newValues.push(g.op('Unsqueeze', [v, g.const([0])]));
  return { q, k, v };
}

/** x + attention output [T, H*Dh] projected back to the model's width. */
export function attentionResidual(
  g: Graph,
  a: ResolvedArchitecture,
  x: string,
  out: string,
  l: number,
  lora?: LoraApply,
): string {
  const { H, Dh } = dimsOf(a);
  const o = lora && { apply: lora, l, t: 'o_proj' as const };
  return g.op('Add', [x, linear(g, g.reshape(out, [-1, H * Dh]), w(l, 'wo'), a.o_bias && w(l, 'bo'), o)]);
}

/** x + MLP(norm(x)) in the architecture's variant. */
export function mlpResidual(
  g: Graph,
  a: ResolvedArchitecture,
  x: string,
  l: number,
  lora?: LoraApply,
): string {
  const on = (t: LoraTarget) => lora && { apply: lora, l, t };
  const h = norm(g, a, x, w(l, 'ln2'));
  const bias = (name: string) => a.mlp_bias && w(l, name);
  let y: string;
  if (a.mlp === 'swiglu') {
    const gate = linear(g, h, w(l, 'w_gate'), bias('b_gate'), on('gate_proj'));
    const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    const up = linear(g, h, w(l, 'w_up'), bias('b_up'), on('up_proj'));
    y = linear(g, g.op('Mul', [silu, up]), w(l, 'w_down'), bias('b_down'), on('down_proj'));
  } else {
    const act = a.mlp === 'gelu' ? g.gelu.bind(g) : (t: string) => geluTanh(g, t);
    y = linear(g, act(linear(g, h, w(l, 'fc1'), bias('b1'))), w(l, 'fc2'), bias('b2'));
  }
  return g.op('Add', [x, y]);
}

/** GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
function geluTanh(g: Graph, x: string): string {
  const cube = g.op('Mul', [g.op('Pow', [x, g.const(3, 'float32')]), g.const(0.044715, 'float32')]);
  const inner = g.op('Mul', [g.op('Add', [x, cube]), g.const(Math.sqrt(2 / Math.PI), 'float32')]);
  return g.op('Mul', [
    g.op('Mul', [x, g.const(0.5, 'float32')]),
    g.op('Add', [g.op('Tanh', [inner]), g.const(1, 'float32')]),
  ]);
}

/** Logits of hidden rows after the final norm: against the tied embedding or the separate lm_head. */
export function logits(g: Graph, a: ResolvedArchitecture, hidden: string): string {
  const head = a.tied_embeddings ? 'tok_emb' : 'lm_head';
  return g.op('Gemm', [norm(g, a, hidden, 'ln_f'), head], { transB: 1 }, 'logits');
}
