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

/**
 * The tiles of one gathered path from engine.onnx's host pools (keys [N,KVH,Dh,TS], values
 * [N,KVH,TS,Dh]), as one run per group: keys [S,KVH,Dh,MB*TS], values [S,KVH,MB*TS,Dh].
 */
export function gatherHostTiles(
  g: Graph,
  kCache: string,
  vCache: string,
  tiles: string,
  Dh: number,
): [keys: string, values: string] {
  let kg = g.op('Gather', [kCache, tiles], { axis: 0 }); // [S,MB,KVH,Dh,TS]
  kg = g.reshape(g.transpose(kg, [0, 2, 3, 1, 4]), [0, 0, 0, -1]); // [S,KVH,Dh,MB*TS]
  let vg = g.op('Gather', [vCache, tiles], { axis: 0 }); // [S,MB,KVH,TS,Dh]
  vg = g.reshape(g.transpose(vg, [0, 2, 1, 3, 4]), [0, 0, -1, Dh]); // [S,KVH,MB*TS,Dh]
  return [kg, vg];
}

/** Groups of query rows, each over its own gathered tiles ([kg, vg] as gatherHostTiles lays them out). */
export function gatheredPart(
  g: Graph,
  qPad: string,
  [kg, vg]: readonly [string, string],
  mask: string,
  query: string,
  tokenRow: string,
  sinks: Part,
  [KVH, G, Dh]: HeadDims,
): Part {
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

/** This step's tokens among themselves (q [T,KVH,G,Dh], k and v [T,KVH,Dh]), causal through newMask [T,T]. */
export function newTokensPart(
  g: Graph,
  q: string,
  k: string,
  v: string,
  newMask: string,
  tLen: string,
  [KVH, G, Dh]: HeadDims,
): Part {
  const qn = g.reshape(g.transpose(q, [1, 0, 2, 3]), [KVH, -1, Dh]); // [KVH,T*G,Dh]
  const kn = g.transpose(k, [1, 2, 0]); // [KVH,Dh,T]
  const vn = g.transpose(v, [1, 0, 2]); // [KVH,T,Dh]
  let s = g.op('Reshape', [
    g.matmul(qn, kn),
    g.op('Concat', [g.const([KVH]), tLen, g.const([G]), tLen], { axis: 0 }),
  ]);
  s = g.op('Add', [s, g.op('Unsqueeze', [newMask, g.const([0, 2])])]); // [KVH,T,G,T]
  const nmax = g.reduceMax(s, 3);
  let e = g.op('Exp', [g.op('Sub', [s, nmax])]);
  const nsum = g.reduceSum(e, 3);
  e = g.op('Reshape', [e, g.op('Concat', [g.const([KVH, -1]), tLen], { axis: 0 })]); // [KVH,T*G,T]
  let pvn = g.matmul(e, vn); // [KVH,T*G,Dh]
  pvn = g.transpose(g.reshape(pvn, [KVH, -1, G, Dh]), [1, 0, 2, 3]);
  return [g.transpose(nmax, [1, 0, 2, 3]), g.transpose(nsum, [1, 0, 2, 3]), pvn];
}
