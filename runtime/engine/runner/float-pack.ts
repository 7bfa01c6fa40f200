import { STEP_PACK_MAX } from '../../model/graph/step-pack.ts';

/**
 * Float32 arrays laid end to end, with each one's length: how the device step's inputs and an adapter
 * slot write travel (one host tensor a run instead of one an array: on WebGPU each costs a copy of its
 * own), split again on the device by the lengths.
 */
export function packFloat32(parts: readonly Float32Array[]): { packed: Float32Array; sizes: BigInt64Array } {
  const packed = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    packed.set(p, at);
    at += p.length;
  }
  return { packed, sizes: BigInt64Array.from(parts, (p) => BigInt(p.length)) };
}

/**
 * Indices as float32 for the step's pack: whole numbers, exact below STEP_PACK_MAX (2^24); any other
 * refused with the piece's name.
 */
export function exactFloats(name: string, values: BigInt64Array | Int32Array): Float32Array {
  return Float32Array.from(values as ArrayLike<number | bigint>, (x) => {
    const v = Number(x);
    if (!(v >= 0 && v < STEP_PACK_MAX))
      throw new Error(`device step: ${name} holds ${v}, outside float32's exact whole numbers`);
    return v;
  });
}
