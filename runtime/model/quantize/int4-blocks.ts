import type { MatmulWeight } from '../graph/index.ts';

/** A weight in MatMulNBits's 4-bit layout (runtime/model/graph's BlockQuantization describes it). */
export interface Int4Blocks {
  /** uint8 [N, blocks, blockSize / 2]. */
  readonly codes: Uint8Array;
  /** float32 [N, blocks]. */
  readonly scales: Float32Array;
  /** uint8 [N, ceil(blocks / 2)], two 4-bit zero points a byte. */
  readonly zeroPoints: Uint8Array;
}

/**
 * Quantizes a matrix-product weight to 4 bits in blocks of `blockSize` along K, asymmetrically: a block
 * spanning [lo, hi] (widened to hold 0) gets scale (hi - lo) / 15, rounded up to a float32, and zero point
 * round(-lo / scale), so 0 is exact and every value decodes within half a scale of itself (the zero
 * point's rounding moves the grid by at most half a step, which the block's range still covers). All 16
 * codes span the block's own range, where the symmetric form (MatMulNBits's default zero point 8) would
 * stretch [-max|w|, max|w|] and leave half its codes unused on a lopsided block; the zero points cost
 * half a byte a block. The padding past K decodes to 0.
 */
export function quantizeInt4(w: Float32Array, m: MatmulWeight, blockSize: number): Int4Blocks {
  const { K, N } = m;
  const rows = m.outputsFirst ? w : transpose(w, K, N); // [N, K]: one output's inputs contiguous
  const blocks = Math.ceil(K / blockSize);
  const blob = blockSize / 2;
  const codes = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  const zeroPoints = new Uint8Array(N * Math.ceil(blocks / 2));
  for (let n = 0; n < N; n++) {
    const row = rows.subarray(n * K, (n + 1) * K);
    for (let b = 0; b < blocks; b++) {
      const values = row.subarray(b * blockSize, Math.min(K, (b + 1) * blockSize));
      let lo = 0;
      let hi = 0;
      for (const v of values) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? float32AtLeast((hi - lo) / 15) : 1;
      const zero = Math.min(15, Math.max(0, Math.round(-lo / scale)));
      scales[n * blocks + b] = scale;
      zeroPoints[n * Math.ceil(blocks / 2) + (b >> 1)]! |= zero << (4 * (b & 1));
      const at = (n * blocks + b) * blob;
      for (let j = 0; j < blockSize; j++) {
        const code =
          j < values.length ? Math.min(15, Math.max(0, Math.round(values[j]! / scale) + zero)) : zero;
        codes[at + (j >> 1)]! |= code << (4 * (j & 1));
      }
    }
  }
  return { codes, scales, zeroPoints };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The smallest float32 >= x (x > 0), so a block's range over the scale stays within 15 steps. */
function float32AtLeast(x: number): number {
  f32[0] = x;
  if (f32[0] < x) u32[0]! += 1;
  return f32[0];
}

/** [rows, cols] -> [cols, rows], in tiles so both sides are read and written a cache line at a time. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const T = 64;
  for (let r0 = 0; r0 < rows; r0 += T)
    for (let c0 = 0; c0 < cols; c0 += T)
      for (let r = r0; r < Math.min(rows, r0 + T); r++)
        for (let c = c0; c < Math.min(cols, c0 + T); c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}
