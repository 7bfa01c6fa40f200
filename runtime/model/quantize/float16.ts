/**
 * float32 -> IEEE binary16, rounding to nearest with ties to even, worked on the bits (no Float16Array
 * before Node 22). Exact for every float32 value that has a float16 one: among bf16 values, those of
 * magnitude from 2^-14 (float16's smallest normal) up to 65280 (bf16's largest below 65504), and smaller
 * ones down to 2^-24 whose significand's low bits land on float16's 2^-24 grid. Otherwise the error is at
 * most half a float16 step: 2^-11 of the value's magnitude above 2^-14, 2^-25 below.
 */

/** float16's largest finite value; a float32 that rounds beyond it becomes infinite. */
export const FLOAT16_MAX = 65504;

/**
 * Writes src as float16 bits into dst (same length). NaN stays NaN and infinities stay infinite; returns
 * the index of the first finite value that overflowed to infinity, or -1.
 */
export function toFloat16(src: Float32Array, dst: Uint16Array): number {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  let overflow = -1;
  for (let i = 0; i < bits.length; i++) {
    const h = halfBits(bits[i]!);
    if (overflow < 0 && (h & 0x7fff) === 0x7c00 && Number.isFinite(src[i]!)) overflow = i;
    dst[i] = h;
  }
  return overflow;
}

function halfBits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // NaN (quiet) or infinity
  if (exp >= 143) return sign | 0x7c00; // 2^16 and above
  if (exp >= 113) {
    // Normal float16: rebias the exponent, keep the top 10 significand bits, round on the 13 dropped.
    // A carry out of the significand steps the exponent up, to infinity past 65504.
    const h = ((exp - 112) << 10) | (mant >>> 13);
    return sign | roundDropped(h, mant & 0x1fff, 0x1000);
  }
  if (exp < 102) return sign; // below 2^-25: rounds to zero
  // Subnormal float16 (a multiple of 2^-24): shift the whole significand, implicit bit included.
  const m = mant | 0x800000;
  const shift = 126 - exp; // 14..24
  return sign | roundDropped(m >>> shift, m & ((1 << shift) - 1), 1 << (shift - 1));
}

/** Rounds `kept` by the bits dropped below it (`half` is the dropped bits' halfway value): ties to even. */
function roundDropped(kept: number, dropped: number, half: number): number {
  return dropped > half || (dropped === half && (kept & 1) === 1) ? kept + 1 : kept;
}
