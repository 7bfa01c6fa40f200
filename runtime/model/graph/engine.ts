import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, Graph, NEG, subgraph } from '../onnx/index.ts';
import {
  directPart,
  gatheredPart,
  gatherHostTiles,
  type HeadDims,
  lseMerge,
  newTokensPart,
  ownedBias,
  type Part,
} from './attention.ts';
import { attentionResidual, dimsOf, embed, mlpResidual, qkv, rotaryTables } from './layers.ts';
import { checkLoraSpec, declareLoraInputs, type LoraApply, loraApply, type LoraGraphSpec } from './lora.ts';
import { stepOutputs } from './step-outputs.ts';
import { attachWeights, type WeightSource } from './weights.ts';

/*
 * engine.onnx: the contract the runtime engine runs every step (paged KV cache). runtime/model/py/graphs.py
 * explains the contract at length; in short: one step computes T new tokens of any mix of sequences.
 * Each layer's pool of past keys [N, KVH, Dh, TS] and values [N, KVH, TS, Dh] is an input read in place.
 * Attention of each new token is the log-sum-exp merge of four parts: direct (pool tiles in place, each
 * with the decode token that owns it), gathered (a prefill chunk's past tiles), shared (tiles a decode
 * reads but does not own) and new (this step's tokens among themselves, through new_mask). Outputs:
 * logits for the rows in logits_index and the new keys (rotated, for RoPE models) and values.
 */

const { FLOAT: F, INT64: I, BOOL } = DataType;

/**
 * An If on decode_only picks the decode-only step or the full step. One session holds both, so the
 * weights, their prepacked copies and the memory arena exist once, not twice. With `lora`, both steps
 * also take the adapter inputs of lora.ts (the tokens in segments by slot, the slot stacks per target,
 * and adapter_any, on which each targeted projection's product is skipped or added).
 */
export function engineGraph(a: ResolvedArchitecture, w: WeightSource, lora?: LoraGraphSpec): Graph {
  if (lora) checkLoraSpec(a, lora);
  const g = new Graph('warmgate_engine');
  g.input('decode_only', BOOL, [1]);
  const full = stepBranch('full_step', 'full/', a, w, fullStepGraph, lora);
  g.declareInputsOf(full); // the full step reads every input the decode step does
  attachWeights(g, a, w);
  const decode = stepBranch('decode_step', 'decode/', a, w, decodeStepGraph, lora);
  g.node('If', ['decode_only'], ['logits', 'new_keys', 'new_values'], {
    then_branch: subgraph(decode.asSubgraph()),
    else_branch: subgraph(full.asSubgraph()),
  });
  stepOutputDecls(g, a);
  return g;
}

type StepBuilder = (a: ResolvedArchitecture, w: WeightSource, g: Graph, lora?: LoraApply) => Graph;

/**
 * One branch of the decode_only If. With adapters the step takes the adapter inputs, and each targeted
 * projection adds its product in an If on adapter_any (lora.ts): a step of base-model tokens only skips
 * them, while the weights stay one level below the graph that holds them (so they are pre-packed).
 */
function stepBranch(
  name: string,
  prefix: string,
  a: ResolvedArchitecture,
  w: WeightSource,
  build: StepBuilder,
  lora: LoraGraphSpec | undefined,
): Graph {
  const g = new Graph(name, { prefix, subgraph: true });
  if (lora === undefined) return build(a, w, g);
  declareLoraInputs(g, a, lora);
  return build(a, w, g, loraApply(g, a, lora));
}

/** The step's outputs, as a graph or branch declares them (the If's, named with the graph's prefix). */
function stepOutputDecls(g: Graph, a: ResolvedArchitecture): void {
  const { L, KVH, Dh, V } = dimsOf(a);
  g.output('logits', F, ['R', V]);
  g.output('new_keys', F, [L, 'T', KVH, Dh]);
  g.output('new_values', F, [L, 'T', KVH, Dh]);
}

function fullStepGraph(a: ResolvedArchitecture, w: WeightSource, g: Graph, lora?: LoraApply): Graph {
  const { L, KVH, G, Dh } = dimsOf(a);
  const ids = g.input('input_ids', I, ['T']);
  const pos = g.input('positions', I, ['T']);
  const kCache = Array.from({ length: L }, (_, l) => g.input(`k_cache_${l}`, F, ['N', KVH, Dh, 'BS']));
  const vCache = Array.from({ length: L }, (_, l) => g.input(`v_cache_${l}`, F, ['N', KVH, 'BS', Dh]));
  const dQuery = g.input('direct_query', I, ['Qd']);
  const dOwner = g.input('direct_owner', I, ['N']);
  const dMask = g.input('direct_mask', F, ['N', 1, 1, 'BS']);
  const dSeg = g.input('direct_seg', F, ['Qd', 'N']);
  const tDirect = g.input('token_direct_row', I, ['T']);
  const gBlocks = g.input('gather_blocks', I, ['S', 'MB']);
  const gMask = g.input('gather_mask', F, ['S', 1, 1, 'MBxBS']);
  const gQuery = g.input('gather_query', I, ['S', 'QM']);
  const tGather = g.input('token_gather_row', I, ['T']);
  const sBlocks = g.input('shared_blocks', I, ['Ss', 'MBs']);
  const sMask = g.input('shared_mask', F, ['Ss', 1, 1, 'MBsxTS']);
  const sQuery = g.input('shared_query', I, ['Ss', 1]);
  const tShared = g.input('token_shared_row', I, ['T']);
  const nMask = g.input('new_mask', F, ['T', 'T']);
  const logitsIndex = g.input('logits_index', I, ['R']);
  attachWeights(g, a, w);

  let x = embed(g, a, ids, pos);
  const rope = rotaryTables(g, a, pos);
  const scale = g.const(1 / Math.sqrt(Dh), 'float32');
  const qPadRow = g.full([1, KVH, G, Dh], 0);
  // Sink rows: index Qd (direct) and S*QM (gathered) mean "none"; they carry an empty partial
  // (max -inf, sum 0, values 0) that the log-sum-exp merge ignores.
  const sinks: Part = [g.full([1, KVH, G, 1], NEG), g.full([1, KVH, G, 1], 0), g.full([1, KVH, G, Dh], 0)];
  const dims: HeadDims = [KVH, G, Dh];
  const owned = ownedBias(g, dSeg);
  const tLen = g.op('Shape', [ids]);
  const newKeys: string[] = [];
  const newValues: string[] = [];
  for (let l = 0; l < L; l++) {
    const { q, k, v } = qkv(g, a, x, l, scale, rope, newKeys, newValues, lora);
    const qPad = g.op('Concat', [q, qPadRow], { axis: 0 }); // [T+1,KVH,G,Dh]

    // 1. direct: pool tiles in place, one query row each; rows are this step's decode tokens.
    const qd = g.op('Gather', [q, dQuery], { axis: 0 }); // [Qd,KVH,G,Dh]
    const [mRows, lRows, aRows] = directPart(g, qd, kCache[l]!, vCache[l]!, dOwner, dMask, dSeg, owned, dims);
    const directToTokens = (rows: string, sink: string, last: number) => {
      const padded = g.op('Concat', [g.reshape(rows, [-1, KVH, G, last]), sink], { axis: 0 });
      return g.op('Gather', [padded, tDirect], { axis: 0 }); // [T,KVH,G,last]
    };
    const direct: Part = [
      directToTokens(mRows, sinks[0], 1),
      directToTokens(lRows, sinks[1], 1),
      directToTokens(aRows, sinks[2], Dh),
    ];

    // 2. gathered: copied tiles, a group of query rows each. Prefill chunks (many rows) and decodes
    // reading tiles they do not own (one row) are separate groups, so neither pads to the other.
    const gathered = gatheredPart(
      g,
      qPad,
      gatherHostTiles(g, kCache[l]!, vCache[l]!, gBlocks, Dh),
      gMask,
      gQuery,
      tGather,
      sinks,
      dims,
    );
    const shared = gatheredPart(
      g,
      qPad,
      gatherHostTiles(g, kCache[l]!, vCache[l]!, sBlocks, Dh),
      sMask,
      sQuery,
      tShared,
      sinks,
      dims,
    );

    // 3. new: this step's tokens among themselves.
    const fresh = newTokensPart(g, q, k, v, nMask, tLen, dims);

    const out = lseMerge(g, [direct, gathered, shared, fresh]);
    x = attentionResidual(g, a, x, out, l, lora);
    x = mlpResidual(g, a, x, l, lora);
  }
  const hidden = g.op('Gather', [x, logitsIndex], { axis: 0 });
  stepOutputs(g, a, hidden, newKeys, newValues, 'R');
  return g;
}

/**
 * engine.onnx's decode_only branch: the commonest step, every token a decode that owns all its tiles.
 * The runner sets decode_only when a step has no prefill and no gathered tile; then direct rows are the
 * tokens themselves and a token's attention to its own new key is one dot product: about half the nodes
 * of the full step, which is most of a decode step's cost on CPU at small batch.
 */
function decodeStepGraph(a: ResolvedArchitecture, w: WeightSource, g: Graph, lora?: LoraApply): Graph {
  const { L, KVH, G, Dh } = dimsOf(a);
  const ids = g.input('input_ids', I, ['T']);
  const pos = g.input('positions', I, ['T']);
  const kCache = Array.from({ length: L }, (_, l) => g.input(`k_cache_${l}`, F, ['N', KVH, Dh, 'TS']));
  const vCache = Array.from({ length: L }, (_, l) => g.input(`v_cache_${l}`, F, ['N', KVH, 'TS', Dh]));
  const dOwner = g.input('direct_owner', I, ['N']);
  const dMask = g.input('direct_mask', F, ['N', 1, 1, 'TS']);
  const dSeg = g.input('direct_seg', F, ['T', 'N']);
  const logitsIndex = g.input('logits_index', I, ['R']);
  attachWeights(g, a, w);
  let x = embed(g, a, ids, pos);
  const rope = rotaryTables(g, a, pos);
  const scale = g.const(1 / Math.sqrt(Dh), 'float32');
  const owned = ownedBias(g, dSeg);
  const newKeys: string[] = [];
  const newValues: string[] = [];
  for (let l = 0; l < L; l++) {
    const { q, k, v } = qkv(g, a, x, l, scale, rope, newKeys, newValues, lora);
    const [mRows, lRows, aRows] = directPart(g, q, kCache[l]!, vCache[l]!, dOwner, dMask, dSeg, owned, [
      KVH,
      G,
      Dh,
    ]);
    const mPast = g.reshape(mRows, [-1, KVH, G, 1]);
    // The token's own key: score q.k, weight 1 at its own scale; merged with the past by log-sum-exp.
    const selfS = g.reduceSum(g.op('Mul', [q, g.op('Unsqueeze', [k, g.const([2])])]), 3); // [T,KVH,G,1]
    const m = g.op('Max', [mPast, selfS]);
    const fPast = g.op('Exp', [g.op('Sub', [mPast, m])]);
    const fSelf = g.op('Exp', [g.op('Sub', [selfS, m])]);
    const num = g.op('Add', [
      g.op('Mul', [g.reshape(aRows, [-1, KVH, G, Dh]), fPast]),
      g.op('Mul', [g.op('Unsqueeze', [v, g.const([2])]), fSelf]),
    ]);
    const den = g.op('Add', [g.op('Mul', [g.reshape(lRows, [-1, KVH, G, 1]), fPast]), fSelf]);
    x = attentionResidual(g, a, x, g.op('Div', [num, den]), l, lora);
    x = mlpResidual(g, a, x, l, lora);
  }
  stepOutputs(g, a, g.op('Gather', [x, logitsIndex], { axis: 0 }), newKeys, newValues, 'R');
  return g;
}
