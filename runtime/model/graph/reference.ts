import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, Graph, NEG } from '../onnx/index.ts';
import {
  attentionResidual,
  dimsOf,
  embed,
  logits,
  mlpResidual,
  norm,
  projection,
  rotaryTables,
} from './layers.ts';
import { rotate } from './rope.ts';
import { attachWeights, type WeightSource } from './weights.ts';

/**
 * reference.onnx: input_ids [T] -> logits [T, V] by full recompute, textbook causal attention with
 * repeated KV heads and no cache: the independent reference the tests compare the paged path against.
 */
export function referenceGraph(a: ResolvedArchitecture, w: WeightSource): Graph {
  const { L, H, KVH, G, Dh, V } = dimsOf(a);
  const g = new Graph('warmgate_reference');
  const ids = g.input('input_ids', DataType.INT64, ['T']);
  attachWeights(g, a, w);
  const tLen = g.op('Shape', [ids]);
  const pos = g.op('Range', [g.const(0), g.op('Squeeze', [tLen]), g.const(1)]);
  let x = embed(g, a, ids, pos);
  const ones = g.op('Expand', [g.const(1.0, 'float32'), g.op('Concat', [tLen, tLen], { axis: 0 })]);
  const causal = g.op('Trilu', [ones], { upper: 0 });
  const mask = g.op('Mul', [g.op('Sub', [g.const(1.0, 'float32'), causal]), g.const(NEG, 'float32')]); // [T,T]
  const rope = rotaryTables(g, a, pos);
  /** [T, heads, Dh], rotated when the model uses RoPE. */
  const heads = (t: string, n: number) => {
    const r = g.reshape(t, [-1, n, Dh]);
    return rope ? rotate(g, r, rope.partner, rope.cos, rope.sin) : r;
  };
  for (let l = 0; l < L; l++) {
    const h = norm(g, a, x, `l${l}.ln1`);
    const q = g.transpose(heads(projection(g, a, h, l, 'q'), H), [1, 0, 2]); // [H,T,Dh]
    let k = g.transpose(heads(projection(g, a, h, l, 'k'), KVH), [1, 0, 2]); // [KVH,T,Dh]
    let v = g.transpose(g.reshape(projection(g, a, h, l, 'v'), [-1, KVH, Dh]), [1, 0, 2]);
    // repeat each KV head G times: [KVH,T,Dh] -> [KVH,G,T,Dh] -> [H,T,Dh]
    const rep = g.op('Concat', [g.const([KVH, G]), tLen, g.const([Dh])], { axis: 0 });
    k = g.reshape(g.op('Expand', [g.op('Unsqueeze', [k, g.const([1])]), rep]), [H, -1, Dh]);
    v = g.reshape(g.op('Expand', [g.op('Unsqueeze', [v, g.const([1])]), rep]), [H, -1, Dh]);
    const s = g.op('Div', [g.matmul(q, g.transpose(k, [0, 2, 1])), g.const(Math.sqrt(Dh), 'float32')]);
    const p = g.op('Softmax', [g.op('Add', [s, mask])], { axis: -1 });
    x = attentionResidual(g, a, x, g.transpose(g.matmul(p, v), [1, 0, 2]), l);
    x = mlpResidual(g, a, x, l);
  }
  logits(g, a, x);
  g.output('logits', DataType.FLOAT, ['T', V]);
  return g;
}
