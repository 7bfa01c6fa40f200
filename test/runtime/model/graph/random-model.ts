import type { ResolvedArchitecture } from '../../../../runtime/model/architecture.ts';
import { packedWeightIndex, type WeightIndex } from '../../../../runtime/model/graph/index.ts';
import { prng } from '../../../support/engine-harness.ts';

export interface RandomModel {
  readonly bytes: Uint8Array;
  readonly index: WeightIndex;
  weight(name: string): Float32Array;
}

/**
 * Seeded random weights in warmgate's packed layout: norm weights near 1, biases small, matrices scaled
 * by 1/sqrt(fan-in) (a little wider, so logits differ clearly between tokens).
 */
export function randomModel(a: ResolvedArchitecture, seed: number): RandomModel {
  const { index, byteLength } = packedWeightIndex(a);
  const buffer = new ArrayBuffer(byteLength);
  const rand = prng(seed);
  const u = () => rand() * 2 - 1;
  const weight = (name: string) => {
    const e = index[name]!;
    return new Float32Array(buffer, e.offset, e.byteLength / 4);
  };
  for (const [name, e] of Object.entries(index)) {
    const w = weight(name);
    const isNorm = /(^|\.)ln(1|2|_f)\.w$/.test(name);
    const isVector = e.shape.length === 1;
    const scale = isVector
      ? 0.1
      : name.endsWith('emb') || name === 'lm_head'
        ? 1
        : 1.5 / Math.sqrt(e.shape[0]!);
    for (let i = 0; i < w.length; i++) w[i] = isNorm ? 1 + 0.2 * u() : scale * u();
  }
  return { bytes: new Uint8Array(buffer), index, weight };
}
