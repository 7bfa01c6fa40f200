import type { ResolvedArchitecture } from '../architecture.ts';
import type { ModelProto, TensorProto } from '../onnx/index.ts';
import { GraphBuildError } from './graph-build-error.ts';
import {
  checkWeightIndex,
  matmulWeight,
  type WeightEntry,
  type WeightIndex,
  weightShapes,
} from './weight-index.ts';
import { blockNames } from './weights.ts';

/**
 * The weight index a built graph was written from, read back from its external initializers: a model
 * folder keeps no index of its own, and the graphs derived at load (the device engine) must read the
 * very bytes engine.onnx reads. Returns the index and the weights file's name.
 */
export function weightIndexOfGraph(
  model: ModelProto,
  a: ResolvedArchitecture,
): { index: WeightIndex; location: string } {
  const stored = new Map<string, TensorProto>();
  for (const t of model.graph?.initializer ?? []) if (t.external_data?.length) stored.set(t.name!, t);
  const span = (t: TensorProto) => {
    const get = (key: string) => t.external_data!.find((e) => e.key === key)?.value;
    return {
      offset: Number(get('offset') ?? 0),
      byteLength: Number(get('length')),
      location: get('location'),
    };
  };
  const index: Record<string, WeightEntry> = {};
  let location: string | undefined;
  for (const [name, shape] of weightShapes(a)) {
    const f32 = stored.get(name);
    const f16 = stored.get(`${name}.fp16`);
    const q4 = blockNames(name);
    const codes = stored.get(q4.codes);
    let entry: WeightEntry;
    let s;
    if (f32) {
      s = span(f32);
      entry = { offset: s.offset, byteLength: s.byteLength, shape, dtype: 'float32' };
    } else if (f16) {
      s = span(f16);
      entry = { offset: s.offset, byteLength: s.byteLength, shape, dtype: 'float16' };
    } else if (codes) {
      s = span(codes);
      const m = matmulWeight(name, shape);
      const scales = stored.get(q4.scales);
      const zeroPoints = stored.get(q4.zeroPoints);
      if (!m || !scales || !zeroPoints)
        throw new GraphBuildError(
          'weight_missing',
          `the graph stores ${name} as 4-bit codes without its scales and zero points`,
        );
      const blockSize = codes.dims![2]! * 2;
      if (blockSize !== 32 && blockSize !== 64)
        throw new GraphBuildError(
          'weight_shape_mismatch',
          `${name}'s 4-bit blocks are ${blockSize} wide; 32 or 64 expected`,
        );
      const { offset: so, byteLength: sl } = span(scales);
      const { offset: zo, byteLength: zl } = span(zeroPoints);
      entry = {
        offset: s.offset,
        byteLength: s.byteLength,
        shape,
        dtype: 'uint8',
        quantization: {
          bits: 4,
          blockSize,
          K: m.K,
          N: m.N,
          scales: { offset: so, byteLength: sl },
          zeroPoints: { offset: zo, byteLength: zl },
        },
      };
    } else {
      throw new GraphBuildError('weight_missing', `the graph has no external initializer for ${name}`);
    }
    if (location !== undefined && s.location !== location)
      throw new GraphBuildError(
        'weight_out_of_file',
        `${name} lies in ${s.location}, the other weights in ${location}`,
      );
    location = s.location;
    index[name] = entry;
  }
  checkWeightIndex(a, index);
  return { index, location: location ?? 'weights.bin' };
}
