import { type ResolvedArchitecture, weightNames } from '../architecture.ts';
import { GraphBuildError } from './graph-build-error.ts';

/** Element types a weights file may hold (float32 only for now; the graphs read whatever this says). */
export type WeightDtype = 'float32';

/** Where one tensor lies in weights.bin. */
export interface WeightEntry {
  readonly offset: number;
  readonly byteLength: number;
  readonly shape: readonly number[];
  readonly dtype: WeightDtype;
}

/** Tensor name (architecture.ts's weightNames) -> where it lies in weights.bin. */
export type WeightIndex = Readonly<Record<string, WeightEntry>>;

/** Tensors start on multiples of this many bytes (what export.py's WeightFile wrote). */
export const WEIGHT_ALIGN = 64;

const BYTES: Record<WeightDtype, number> = { float32: 4 };

/** The shape each weight must have (the layouts architecture.ts's weightNames documents). */
export function weightShapes(a: ResolvedArchitecture): Map<string, readonly number[]> {
  const d = a.d_model;
  const q = a.n_head * a.head_dim;
  const kv = a.n_kv_head * a.head_dim;
  const perLayer: Record<string, readonly number[]> = {
    'ln1.w': [d],
    'ln1.b': [d],
    wq: [d, q],
    wk: [d, kv],
    wv: [d, kv],
    bq: [q],
    bk: [kv],
    bv: [kv],
    wo: [q, d],
    bo: [d],
    'ln2.w': [d],
    'ln2.b': [d],
    fc1: [d, a.d_ff],
    fc2: [a.d_ff, d],
    b1: [a.d_ff],
    b2: [d],
    w_gate: [d, a.d_ff],
    w_up: [d, a.d_ff],
    w_down: [a.d_ff, d],
    b_gate: [a.d_ff],
    b_up: [a.d_ff],
    b_down: [d],
  };
  const global: Record<string, readonly number[]> = {
    tok_emb: [a.vocab_size, d],
    pos_emb: [a.context_length, d],
    lm_head: [a.vocab_size, d],
    'ln_f.w': [d],
    'ln_f.b': [d],
  };
  return new Map(
    weightNames(a).map((name) => {
      const shape = global[name] ?? perLayer[name.slice(name.indexOf('.') + 1)];
      if (!shape) throw new Error(`no shape known for weight ${name}`);
      return [name, shape];
    }),
  );
}

/**
 * The layout warmgate writes: weightNames order, each tensor float32 and aligned to WEIGHT_ALIGN bytes,
 * no padding after the last. `byteLength` is the file's size.
 */
export function packedWeightIndex(a: ResolvedArchitecture): { index: WeightIndex; byteLength: number } {
  const index: Record<string, WeightEntry> = {};
  let end = 0;
  for (const [name, shape] of weightShapes(a)) {
    const offset = Math.ceil(end / WEIGHT_ALIGN) * WEIGHT_ALIGN;
    const byteLength = shape.reduce((x, y) => x * y, 1) * BYTES.float32;
    index[name] = { offset, byteLength, shape, dtype: 'float32' };
    end = offset + byteLength;
  }
  return { index, byteLength: end };
}

/**
 * The index of a model exported by runtime/model/py/export.py (the committed demo models), whose
 * weights.bin has no index of its own: the packed layout, checked against the file's size.
 */
export function demoWeightIndex(a: ResolvedArchitecture, fileSize: number): WeightIndex {
  const { index, byteLength } = packedWeightIndex(a);
  if (byteLength !== fileSize)
    throw new GraphBuildError(
      'weights_size_mismatch',
      `weights.bin is ${fileSize} bytes, the architecture's packed layout needs ${byteLength}: the file is from another model or truncated`,
    );
  return index;
}

/** Every weight the architecture reads is in the index with its shape and inside the file (when known). */
export function checkWeightIndex(a: ResolvedArchitecture, index: WeightIndex, fileSize?: number): void {
  for (const [name, shape] of weightShapes(a)) {
    const e = index[name];
    if (!e)
      throw new GraphBuildError(
        'weight_missing',
        `the weights index has no ${name}, which this architecture reads`,
      );
    if (e.shape.length !== shape.length || e.shape.some((n, i) => n !== shape[i]))
      throw new GraphBuildError(
        'weight_shape_mismatch',
        `${name} is [${e.shape.join(', ')}] in the weights index, the architecture needs [${shape.join(', ')}]`,
      );
    const bytes = shape.reduce((x, y) => x * y, 1) * BYTES[e.dtype];
    if (e.byteLength !== bytes)
      throw new GraphBuildError(
        'weight_shape_mismatch',
        `${name} spans ${e.byteLength} bytes, [${shape.join(', ')}] of ${e.dtype} needs ${bytes}`,
      );
    if (e.offset < 0 || (fileSize !== undefined && e.offset + e.byteLength > fileSize))
      throw new GraphBuildError(
        'weight_out_of_file',
        `${name} lies at [${e.offset}, ${e.offset + e.byteLength}), outside the ${fileSize}-byte weights file`,
      );
  }
}
