import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, Graph } from '../onnx/index.ts';
import { lseMerge, type Part } from './attention.ts';
import { attentionResidual, dimsOf, embed, mlpResidual, qkv, rotaryTables } from './layers.ts';
import { stepOutputs } from './step-outputs.ts';
import { attachWeights, type WeightSource } from './weights.ts';

const { FLOAT: F, INT64: I } = DataType;

/**
 * decode_contiguous.onnx, the paged-vs-contiguous benchmark's baseline: one decode token per sequence
 * against a contiguous per-sequence cache ([B, KVH, Dh, P] keys, [B, KVH, P, Dh] values, read in place),
 * built from the same ops as engine.onnx so the comparison isolates the cache layout.
 */
export function decodeContiguousGraph(a: ResolvedArchitecture, w: WeightSource): Graph {
  const { L, KVH, Dh } = dimsOf(a);
  const g = new Graph('warmgate_decode_contiguous');
  const ids = g.input('input_ids', I, ['B']);
  const pos = g.input('positions', I, ['B']);
  const kPast = Array.from({ length: L }, (_, l) => g.input(`k_past_${l}`, F, ['B', KVH, Dh, 'P']));
  const vPast = Array.from({ length: L }, (_, l) => g.input(`v_past_${l}`, F, ['B', KVH, 'P', Dh]));
  const pMask = g.input('past_mask', F, ['B', 1, 1, 'P']);
  attachWeights(g, a, w);
  let x = embed(g, a, ids, pos);
  const rope = rotaryTables(g, a, pos);
  const scale = g.const(1 / Math.sqrt(Dh), 'float32');
  const newKeys: string[] = [];
  const newValues: string[] = [];
  for (let l = 0; l < L; l++) {
    const { q, k, v } = qkv(g, a, x, l, scale, rope, newKeys, newValues);
    const s = g.op('Add', [g.matmul(q, kPast[l]!), pMask]); // [B,KVH,G,P]
    const m1 = g.reduceMax(s, 3);
    const e = g.op('Exp', [g.op('Sub', [s, m1])]);
    const past: Part = [m1, g.reduceSum(e, 3), g.matmul(e, vPast[l]!)];
    // the token with itself: score q.k, weight 1 at its own max
    const selfS = g.reduceSum(g.op('Mul', [q, g.op('Unsqueeze', [k, g.const([2])])]), 3); // [B,KVH,G,1]
    const ones = g.op('Expand', [g.const(1.0, 'float32'), g.op('Shape', [selfS])]);
    const self: Part = [selfS, ones, g.op('Mul', [ones, g.op('Unsqueeze', [v, g.const([2])])])];
    x = attentionResidual(g, a, x, lseMerge(g, [past, self]), l);
    x = mlpResidual(g, a, x, l);
  }
  stepOutputs(g, a, x, newKeys, newValues, 'B');
  return g;
}
