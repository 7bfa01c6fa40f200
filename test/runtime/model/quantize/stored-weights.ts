import type { WeightEntry, WeightIndex } from '../../../../runtime/model/graph/index.ts';

/**
 * The values a converted weights file holds, decoded from the layouts the index documents and nothing
 * else (no code shared with runtime/model/quantize): float16 from its bit fields, 4-bit blocks as
 * MatMulNBits's contract reads them, (code - zero point) * scale. Every tensor comes back in its own
 * shape as float32, as the graphs see it after their Cast or inside MatMulNBits.
 */
export function storedWeights(file: Uint8Array, index: WeightIndex): (name: string) => Float32Array {
  const cache = new Map<string, Float32Array>();
  return (name) => {
    let w = cache.get(name);
    if (!w) {
      w = decode(file, name, index[name]!);
      cache.set(name, w);
    }
    return w;
  };
}

/** float16 bits -> value, from the IEEE 754 binary16 fields. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  if (exp === 0) return sign * frac * 2 ** -24;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** One 4-bit weight's blocks, as read from the file: for checks per block. */
export interface Blocks {
  readonly K: number;
  readonly N: number;
  readonly blockSize: number;
  readonly blocks: number;
  code(n: number, k: number): number;
  scale(n: number, b: number): number;
  zeroPoint(n: number, b: number): number;
}

export function blocksOf(file: Uint8Array, e: WeightEntry): Blocks {
  const q = e.quantization!;
  const blocks = Math.ceil(q.K / q.blockSize);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const nibble = (byte: number, second: boolean) => (second ? byte >> 4 : byte & 0xf);
  return {
    K: q.K,
    N: q.N,
    blockSize: q.blockSize,
    blocks,
    // B [N, blocks, blockSize / 2]: k = b * blockSize + j, byte j / 2 of the block, the lower nibble first.
    code: (n, k) => nibble(file[e.offset + n * blocks * (q.blockSize / 2) + (k >> 1)]!, (k & 1) === 1),
    scale: (n, b) => view.getFloat32(q.scales.offset + 4 * (n * blocks + b), true),
    zeroPoint: (n, b) =>
      nibble(file[q.zeroPoints.offset + n * Math.ceil(blocks / 2) + (b >> 1)]!, (b & 1) === 1),
  };
}

function decode(file: Uint8Array, name: string, e: WeightEntry): Float32Array {
  const count = e.shape.reduce((x, y) => x * y, 1);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (e.dtype === 'float32')
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(e.offset + 4 * i, true));
  if (e.dtype === 'float16')
    return Float32Array.from({ length: count }, (_, i) => halfValue(view.getUint16(e.offset + 2 * i, true)));
  const b = blocksOf(file, e);
  const out = new Float32Array(count);
  // lm_head's shape is [V, d] = [N, K] (architecture.ts); the Linear weights' [in, out] = [K, N].
  const outputsFirst = name === 'lm_head';
  for (let n = 0; n < b.N; n++)
    for (let k = 0; k < b.K; k++) {
      const blk = Math.floor(k / b.blockSize);
      const v = Math.fround((b.code(n, k) - b.zeroPoint(n, blk)) * b.scale(n, blk));
      out[outputsFirst ? n * b.K + k : k * b.N + n] = v;
    }
  return out;
}
