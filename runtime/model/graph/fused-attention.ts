import { DataType, float, type Graph, NEG } from '../onnx/index.ts';
import type { HeadDims } from './attention.ts';
import type { PathPieces } from './step-pack.ts';

/*
 * The device step's attention in one kernel per path: ONNX Runtime's MultiHeadAttention (com.microsoft),
 * which its WebGPU provider implements. The step writes its keys and values into the pools first, so
 * each sequence's gathered blocks already hold its new tokens; a query row sees exactly the columns at or
 * before its own position. No partial softmaxes and no merge: a layer's attention is a handful of nodes
 * instead of about a hundred, which is what a step costs on a provider bound by kernel dispatches.
 *
 * Two paths, so a decode's single query row is not padded to a prefill chunk's length: `prefill`
 * (sequences with several new tokens) and `decode` (one). Each is S sequences of MB blocks and QM query
 * rows. MultiHeadAttention runs with the KV heads as its heads and the G query heads of each as extra
 * query rows, so grouped-query models need no copy of their keys per query head.
 */

const { FLOAT: F } = DataType;

/** Where a column holds no key of the row's sequence: above any position. */
export const INVISIBLE = 2 ** 30;

/** One path as the attention reads it (runner/device-step-inputs.ts lays it out). */
export interface AttentionPath {
  /** [S, MB] the pool blocks of each sequence, in order. */
  readonly blocks: string;
  /** [S, QM] each query row's token (a padding row: 0, which it reads and does not see). */
  readonly query: string;
  /** [S, 1, QM*G, L] additive mask, built once for every layer (attentionPath). */
  readonly bias: string;
}

/** A path's mask, built once for all layers, from its pieces of the step's pack (step-pack.ts). */
export function attentionPath(g: Graph, p: PathPieces, G: number): AttentionPath {
  const { blocks, query, keyPos, queryPos } = p;
  const visible = g.op('LessOrEqual', [
    g.op('Unsqueeze', [keyPos, g.const([1])]), // [S,1,L]
    g.op('Unsqueeze', [queryPos, g.const([2])]), // [S,QM,1]
  ]);
  const mask = g.op('Where', [visible, g.const(0, 'float32'), g.const(NEG, 'float32')]); // [S,QM,L]
  if (G === 1) return { blocks, query, bias: g.op('Unsqueeze', [mask, g.const([1])]) };
  // Row (qm, g) of the query: each query head sees what its token sees. Reshape's 0 keeps S and L.
  const perHead = g.op('Expand', [g.op('Unsqueeze', [mask, g.const([2])]), g.const([1, 1, G, 1])]);
  return { blocks, query, bias: g.reshape(perHead, [0, 1, -1, 0]) };
}

/**
 * One path's attention output, a row per query row [S*QM, G*KVH*Dh] with its heads in (g, kv) order,
 * from the step's queries in that order (q [T, G, KVH, Dh]; a padding row reads token 0's, sees nothing,
 * and its output is dropped) and the written pools seen as blocks ([blocks, BS, KVH*Dh]); the kernel
 * scales the scores by 1/sqrt(Dh). The caller puts the heads back in the model's order once for both
 * paths (a transpose each way a layer, not one a path).
 */
export function pathAttention(
  g: Graph,
  p: AttentionPath,
  q: string,
  kBlocks: string,
  vBlocks: string,
  [KVH, G, Dh]: HeadDims,
  kvDtype: 'float32' | 'float16',
): string {
  const read = (pool: string) => {
    const t = g.op('Gather', [pool, p.blocks], { axis: 0 }); // [S,MB,BS,KVH*Dh]
    const f = kvDtype === 'float16' ? g.op('Cast', [t], { to: F }) : t;
    return g.reshape(f, [0, -1, KVH * Dh]); // [S,L,KVH*Dh]
  };
  const rows = g.reshape(g.op('Gather', [q, p.query], { axis: 0 }), [0, -1, KVH * Dh]); // [S,QM*G,KVH*Dh]
  const o = g.contrib('MultiHeadAttention', [rows, read(kBlocks), read(vBlocks), '', '', p.bias], {
    num_heads: KVH,
    scale: float(1 / Math.sqrt(Dh)),
  });
  return g.reshape(o, [-1, G * KVH * Dh]); // [S*QM, G*KVH*Dh]
}
