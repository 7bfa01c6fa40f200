import { type Graph, NEG } from '../onnx/index.ts';

/**
 * The paged attention core of engine.onnx (and the contiguous baseline's merge), as graphs.py writes it:
 * partial softmax attentions over parts of the past, merged by log-sum-exp. This is the measured
 * contract of BENCHMARKS.md; the model families differ only around it.
 */

/** KVH key/value heads, G query heads per key/value head, Dh dimensions per head. */
export type HeadDims = readonly [KVH: number, G: number, Dh: number];

/** A partial attention: max score, sum of exp(score - max), exp-weighted values. */
export type Part = readonly [max: string, sum: string, values: string];

/** Merges partial softmax attentions into the normalised output. */
export function lseMerge(g: Graph, parts: readonly Part[]): string {
  const m = g.op(
    'Max',
    parts.map((p) => p[0]),
  );
  let totalL: string | undefined;
  let totalA: string | undefined;
  for (const [pm, pl, pa] of parts) {
    const f = g.op('Exp', [g.op('Sub', [pm, m])]);
    const li = g.op('Mul', [pl, f]);
    const ai = g.op('Mul', [pa, f]);
    totalL = totalL === undefined ? li : g.op('Add', [totalL, li]);
    totalA = totalA === undefined ? ai : g.op('Add', [totalA, ai]);
  }
  return g.op('Div', [totalA!, totalL!]);
}

/** [rows,1,N]: 0 where the row owns the tile, -inf elsewhere; the same for every layer. */
export function ownedBias(g: Graph, seg: string): string {
  const bias = g.op('Mul', [g.op('Sub', [seg, g.const(1.0, 'float32')]), g.const(-NEG, 'float32')]);
  return g.op('Unsqueeze', [bias, g.const([1])]);
}

/**
 * Tiles read in place, each with the query row that owns it (owner[n] in [0, rows], rows = none).
 *
 * Returns per row (max [rows,KVH*G], sum of exp [rows,KVH*G], weighted values [rows,KVH*G*Dh]).
 * Per-tile partials combine per row through the one-hot seg [rows,N]: rows are at most the decode
 * batch, so these are small dense products, far faster in ONNX Runtime than a ScatterElements reduction.
 */
export function directPart(
  g: Graph,
  qRows: string,
  kCache: string,
  vCache: string,
  owner: string,
  mask: string,
  seg: string,
  owned: string,
  [KVH, G, Dh]: HeadDims,
): Part {
  const q = g.op('Concat', [qRows, g.full([1, KVH, G, Dh], 0)], { axis: 0 }); // [rows+1,...]
  const qd = g.op('Gather', [q, owner], { axis: 0 }); // [N,KVH,G,Dh]
  const s = g.op('Add', [g.matmul(qd, kCache), mask]); // [N,KVH,G,TS]
  const bmax = g.reduceMax(s, 3); // [N,KVH,G,1]
  const e = g.op('Exp', [g.op('Sub', [s, bmax])]);
  const bsum = g.reshape(g.reduceSum(e, 3), [0, KVH * G]); // [N,KVH*G]
  const pv = g.matmul(e, vCache); // [N,KVH,G,Dh]
  const bmax2 = g.reshape(bmax, [0, KVH * G]);
  const scores = g.op('Add', [owned, g.transpose(bmax2, [1, 0])]); // [rows,KVH*G,N]
  const mRows = g.op('ReduceMax', [scores, g.const([2])], { keepdims: 0 }); // [rows,KVH*G]
  const mSink = g.op('Concat', [mRows, g.full([1, KVH * G], NEG)], { axis: 0 });
  const f = g.op('Exp', [g.op('Sub', [bmax2, g.op('Gather', [mSink, owner], { axis: 0 })])]); // [N,KVH*G]
  const lRows = g.matmul(seg, g.op('Mul', [bsum, f]));
  const aRows = g.matmul(seg, g.reshape(g.op('Mul', [pv, g.reshape(f, [0, KVH, G, 1])]), [0, KVH * G * Dh]));
  return [mRows, lRows, aRows];
}

/** Groups of query rows, each over its own gathered tiles; results mapped back to token rows. */
export function gatheredPart(
  g: Graph,
  qPad: string,
  kCache: string,
  vCache: string,
  tiles: string,
  mask: string,
  query: string,
  tokenRow: string,
  sinks: Part,
  [KVH, G, Dh]: HeadDims,
): Part {
  let kg = g.op('Gather', [kCache, tiles], { axis: 0 }); // [S,MB,KVH,Dh,TS]
  kg = g.reshape(g.transpose(kg, [0, 2, 3, 1, 4]), [0, 0, 0, -1]); // [S,KVH,Dh,MB*TS]
  let vg = g.op('Gather', [vCache, tiles], { axis: 0 }); // [S,MB,KVH,TS,Dh]
  vg = g.reshape(g.transpose(vg, [0, 2, 1, 3, 4]), [0, 0, -1, Dh]); // [S,KVH,MB*TS,Dh]
  let qg = g.op('Gather', [qPad, query], { axis: 0 }); // [S,QM,KVH,G,Dh]
  const qgShape = g.op('Shape', [qg]);
  qg = g.reshape(g.transpose(qg, [0, 2, 1, 3, 4]), [0, 0, -1, Dh]); // [S,KVH,QM*G,Dh]
  const s = g.op('Add', [g.matmul(qg, kg), mask]);
  const gmax = g.reduceMax(s, 3);
  const e = g.op('Exp', [g.op('Sub', [s, gmax])]);
  const gsum = g.reduceSum(e, 3);
  const pvg = g.matmul(e, vg); // [S,KVH,QM*G,Dh]

  // [S,KVH,QM*G,last] -> [S*QM,KVH,G,last], plus the sink row, then one row per token
  const toTokens = (t: string, sink: string, last: number) => {
    const shape = g.op(
      'Concat',
      [
        g.op('Slice', [qgShape, g.const([0]), g.const([1])]),
        g.const([KVH]),
        g.op('Slice', [qgShape, g.const([1]), g.const([2])]),
        g.const([G, last]),
      ],
      { axis: 0 },
    );
    const rows = g.reshape(g.transpose(g.op('Reshape', [t, shape]), [0, 2, 1, 3, 4]), [-1, KVH, G, last]);
    return g.op('Gather', [g.op('Concat', [rows, sink], { axis: 0 }), tokenRow], { axis: 0 });
  };
  return [toTokens(gmax, sinks[0], 1), toTokens(gsum, sinks[1], 1), toTokens(pvg, sinks[2], Dh)];
}
