import { type ResolvedArchitecture, weightNames } from '../architecture.ts';
import { GraphBuildError } from './graph-build-error.ts';

/**
 * Element types a weights file may hold: float32; float16 (the graphs cast it to float32 where it is
 * read); uint8 for weights packed 4 bits a value in blocks (see BlockQuantization).
 */
export type WeightDtype = 'float32' | 'float16' | 'uint8';

/** A byte range of weights.bin. */
export interface WeightSpan {
  readonly offset: number;
  readonly byteLength: number;
}

/**
 * A matrix-product weight stored as 4-bit codes in blocks along its input dimension K, in the layout of
 * ONNX Runtime's MatMulNBits: the entry's own bytes are B, uint8 [N, blocks, blockSize / 2] (blocks =
 * ceil(K / blockSize); two codes a byte, the first in the lower nibble; a last block past K is padded),
 * and the weight between input k and output n is (code - zero point) * scale of its block.
 */
export interface BlockQuantization {
  readonly bits: 4;
  readonly blockSize: 32 | 64;
  /** Input features (the dimension a matrix product sums over) and output features. */
  readonly K: number;
  readonly N: number;
  /** float32 [N, blocks]. */
  readonly scales: WeightSpan;
  /** uint8 [N, ceil(blocks / 2)]: 4-bit codes, two a byte, the first block's in the lower nibble. */
  readonly zeroPoints: WeightSpan;
}

/** Where one tensor lies in weights.bin; `shape` is the tensor's own shape whatever its storage. */
export interface WeightEntry extends WeightSpan {
  readonly shape: readonly number[];
  readonly dtype: WeightDtype;
  /** For dtype uint8: how the codes decode (MatMulNBits's contract). */
  readonly quantization?: BlockQuantization;
}

/** Tensor name (architecture.ts's weightNames) -> where it lies in weights.bin. */
export type WeightIndex = Readonly<Record<string, WeightEntry>>;

/** Tensors start on multiples of this many bytes (what export.py's WeightFile wrote). */
export const WEIGHT_ALIGN = 64;

const BYTES: Record<WeightDtype, number> = { float32: 4, float16: 2, uint8: 1 };

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

const LINEAR = /^l\d+\.(wq|wk|wv|wo|fc1|fc2|w_gate|w_up|w_down)$/;

/** A weight as a matrix product reads it: K inputs summed over, N outputs. */
export interface MatmulWeight {
  readonly K: number;
  readonly N: number;
  /** Stored [N, K] (lm_head, Hugging Face's layout) rather than [K, N] (the Linear weights). */
  readonly outputsFirst: boolean;
}

/**
 * K and N of a weight every graph reads only through a matrix product: the Linear weights, and lm_head
 * when the embeddings are untied. Undefined for the others (the tied embedding is gathered too), which
 * therefore cannot be stored as 4-bit blocks.
 */
export function matmulWeight(name: string, shape: readonly number[]): MatmulWeight | undefined {
  if (shape.length !== 2) return undefined;
  if (name === 'lm_head') return { K: shape[1]!, N: shape[0]!, outputsFirst: true };
  if (LINEAR.test(name)) return { K: shape[0]!, N: shape[1]!, outputsFirst: false };
  return undefined;
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
    for (const span of storedSpans(name, e))
      if (span.offset < 0 || (fileSize !== undefined && span.offset + span.byteLength > fileSize))
        throw new GraphBuildError(
          'weight_out_of_file',
          `${name} lies at [${span.offset}, ${span.offset + span.byteLength}), outside the ${fileSize}-byte weights file`,
        );
  }
}

/** The byte ranges an entry's storage spans, each checked against the tensor's shape. */
function storedSpans(name: string, e: WeightEntry): WeightSpan[] {
  const sized = (what: string, span: WeightSpan, bytes: number, of: string) => {
    if (span.byteLength !== bytes)
      throw new GraphBuildError(
        'weight_shape_mismatch',
        `${what} spans ${span.byteLength} bytes, [${e.shape.join(', ')}] ${of} needs ${bytes}`,
      );
    return span;
  };
  if (!(e.dtype in BYTES))
    throw new GraphBuildError(
      'weight_dtype_unsupported',
      `${name} is ${String(e.dtype)}; the graphs read float32, float16 and uint8 (4-bit blocks)`,
    );
  if (e.dtype !== 'uint8') {
    const elements = e.shape.reduce((x, y) => x * y, 1);
    return [sized(name, e, elements * BYTES[e.dtype], `of ${e.dtype}`)];
  }
  const m = matmulWeight(name, e.shape);
  const q = e.quantization;
  if (!m || !q)
    throw new GraphBuildError(
      'weight_dtype_unsupported',
      m
        ? `${name} is uint8 without its quantization (block size, scales, zero points): re-convert the weights`
        : `${name} is uint8, but only the weights read through a matrix product (Linear weights, an untied lm_head) may be stored as 4-bit blocks`,
    );
  if (q.bits !== 4 || (q.blockSize !== 32 && q.blockSize !== 64) || q.K !== m.K || q.N !== m.N)
    throw new GraphBuildError(
      'weight_shape_mismatch',
      `${name}'s quantization (bits ${q.bits}, block ${q.blockSize}, K ${q.K}, N ${q.N}) does not fit [${e.shape.join(', ')}]: bits 4, block 32 or 64, K ${m.K}, N ${m.N} expected`,
    );
  const blocks = Math.ceil(q.K / q.blockSize);
  const of = `in ${q.blockSize}-blocks`;
  return [
    sized(name, e, (q.N * blocks * q.blockSize) / 2, of),
    sized(`${name}'s scales`, q.scales, q.N * blocks * 4, of),
    sized(`${name}'s zero points`, q.zeroPoints, q.N * Math.ceil(blocks / 2), of),
  ];
}
