import type { ResolvedArchitecture, RopeSettings } from '../architecture.ts';
import { DataType, type Graph } from '../onnx/index.ts';

/**
 * RoPE's inverse frequencies, one per rotated pair: 1 / theta^(2i / dim), i < dim / 2, with Llama 3's
 * frequency scaling when `rope.llama3` is set (long wavelengths slowed by `factor`, short ones kept, a
 * smooth blend between). Computed in float64; the graph stores them as float32.
 */
export function ropeInvFreq(rope: RopeSettings, headDim: number): Float64Array {
  const dim = rope.dim ?? headDim;
  const inv = Float64Array.from({ length: dim / 2 }, (_, i) => 1 / rope.theta ** ((2 * i) / dim));
  const s = rope.llama3;
  if (!s) return inv;
  const orig = s.original_max_position_embeddings;
  const shortest = orig / s.high_freq_factor; // wavelengths below this keep their frequency
  const longest = orig / s.low_freq_factor; // wavelengths above this are slowed by `factor`
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < shortest) return f;
    if (wavelen > longest) return f / s.factor;
    const smooth = (orig / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return ((1 - smooth) * f) / s.factor + smooth * f;
  });
}

/** Per-token rotation tables: cos and signed sin [T, 1, Dh], and the same with one more axis for queries. */
export interface RopeTables {
  readonly cos: string;
  readonly sin: string;
  readonly cosQ: string;
  readonly sinQ: string;
  /** Per head dimension, the dimension it pairs with (identity beyond the rotated ones). */
  readonly partner: string;
}

/**
 * cos and sin of position x frequency, computed in the graph from `positions` [T] (int64) in float32 as
 * HF does, so no table sized by the context length is needed. For head dimension j < dim/2 the pair is
 * (j, j + dim/2) (HF's rotate_half: first half against second half); dimensions from `dim` on pass
 * through (frequency 0: cos 1, sin 0).
 *
 * rotate_half(x) * sin = (-x2, x1) * (s, s) = (x2, x1) * (-s, s): the sign moves into the table, so
 * rotating a tensor is one Gather of the partner dimensions, two Muls and an Add.
 */
export function ropeTables(g: Graph, a: ResolvedArchitecture, positions: string): RopeTables {
  const rope = a.rope!;
  const Dh = a.head_dim;
  const inv = ropeInvFreq(rope, Dh);
  const half = inv.length;
  const rest = Dh - 2 * half;
  const freq = [...inv, ...inv, ...new Array<number>(rest).fill(0)];
  const sign = [
    ...new Array<number>(half).fill(-1),
    ...new Array<number>(half).fill(1),
    ...new Array<number>(rest).fill(0),
  ];
  const partner = Array.from({ length: Dh }, (_, j) => (j < half ? j + half : j < 2 * half ? j - half : j));
  const pos = g.op('Unsqueeze', [g.op('Cast', [positions], { to: DataType.FLOAT }), g.const([1])]); // [T,1] float
  const angle = g.op('Mul', [pos, g.const(freq, 'float32')]); // [T,Dh]
  const cos = g.op('Unsqueeze', [g.op('Cos', [angle]), g.const([1])]);
  const sin = g.op('Unsqueeze', [
    g.op('Mul', [g.op('Sin', [angle]), g.const(sign, 'float32')]),
    g.const([1]),
  ]);
  return {
    cos,
    sin,
    cosQ: g.op('Unsqueeze', [cos, g.const([1])]),
    sinQ: g.op('Unsqueeze', [sin, g.const([1])]),
    partner: g.const(partner),
  };
}

/** x [T, ..., Dh] rotated by its token's position; `cos`/`sin` broadcast over the middle axes. */
export function rotate(g: Graph, x: string, partner: string, cos: string, sin: string): string {
  const swapped = g.op('Gather', [x, partner], { axis: -1 });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [swapped, sin])]);
}
