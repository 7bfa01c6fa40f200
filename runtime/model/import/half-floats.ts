/**
 * Widening 16-bit floats to float32, exactly: every bf16 and f16 value (subnormals, infinities, NaN
 * payloads included) is a float32 value, so the bits are rearranged rather than computed.
 */

/** bf16 is the upper half of a float32. */
export function widenBf16(src: Uint16Array, dst: Uint32Array, at: number): void {
  for (let i = 0; i < src.length; i++) dst[at + i] = src[i]! << 16;
}

let f16Table: Uint32Array | undefined;

/** float32 bits of each of the 65,536 f16 values, built on first use (256 KB). */
function f16Bits(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) {
      table[h] = sign | 0x7f800000 | (mant << 13);
    } else if (exp !== 0) {
      table[h] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    } else if (mant === 0) {
      table[h] = sign;
    } else {
      // Subnormal f16: shift the mantissa up until its leading 1 is the implicit bit of a normal float32.
      let e = -14;
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      table[h] = sign | ((e + 127) << 23) | ((mant & 0x3ff) << 13);
    }
  }
  f16Table = table;
  return table;
}

export function widenF16(src: Uint16Array, dst: Uint32Array, at: number): void {
  const table = f16Bits();
  for (let i = 0; i < src.length; i++) dst[at + i] = table[src[i]!]!;
}
