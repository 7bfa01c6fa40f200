import type { ResolvedArchitecture } from '../architecture.ts';
import { DataType, Graph } from '../onnx/index.ts';
import type { HeadDims } from './attention.ts';
import { attentionPath, pathAttention } from './fused-attention.ts';
import {
  deviceMlp,
  devicePackedQkv,
  deviceQkv,
  firstNorm,
  outputProjection,
  qkvWeights,
  rotaryRows,
  skipNorm,
} from './device-layers.ts';
import { dimsOf, embed, layerWeight } from './layers.ts';
import { checkLoraSpec, type LoraGraphSpec } from './lora.ts';
import { groupedLora } from './lora-grouped.ts';
import { GraphBuildError } from './graph-build-error.ts';
import { greedyRows } from './greedy-rows.ts';
import { ATTENTION_BOUNDS, pagedAttention, pagedAttentionUnfit, pagedRotary } from './paged-attention.ts';
import { type StepAttention, unpackStep } from './step-pack.ts';
import { attachWeights, type WeightSource } from './weights.ts';

/*
 * device_engine: the paged contract for a KV pool that lives on the accelerator (WebGPU). engine.onnx
 * reads host pools and hands the step's keys and values back for the host to write; here each layer's
 * pool is a device buffer [blocks, blockSize, KVH*Dh] that the graph writes and reads: ScatterND puts the
 * step's keys and values at write_index (each token's block and offset) and returns the pool as
 * k_pool_out_l / v_pool_out_l, which the runner feeds to the next step (runner/device-kv-pool.ts), so
 * nothing of the pool crosses the bus. Each sequence gathers its blocks of the written pools, its new
 * tokens included, for one MultiHeadAttention per path (fused-attention.ts).
 *
 * Attention in one kernel, not partial softmaxes merged as engine.onnx does (attention.ts), and the rest
 * of each layer in ONNX Runtime's fused kernels (device-layers.ts): measured on the H100 (BENCHMARKS.md),
 * the WebGPU provider's cost is per kernel. The demo model's step went from about 600 nodes (split
 * attention) to 225 (fused attention) to 185 (fused layers); the 0.5 B bench model's from about 1,900 to
 * 1,340.
 *
 * The step's small inputs (ids, positions, each path's layout, the sampled rows) come packed in one
 * float32 tensor and are split here (step-pack.ts): on WebGPU each host tensor costs a copy of its own.
 *
 * With `lora`, the step also takes adapter stacks (lora-grouped.ts: per token, q, k and v as one; the
 * runner holds them on the device too: lora-stacks.ts).
 *
 * With `paged` attention (float16 pools on WebGPU), each layer's write and attention are one
 * PagedAttention node over pools it writes in place (paged-attention.ts); the rest is the same.
 *
 * The step returns each sampled row's greedy token and logprob (greedy-rows.ts), and the logits of the
 * rows that need more (whole_rows): a step of greedy requests brings no logits down.
 */

const { FLOAT: F, FLOAT16, INT32: I32, INT64: I } = DataType;

export type KvDtype = 'float32' | 'float16';

/**
 * The type the device step computes in: float32, or float16 from the embedding to the logits (weights,
 * activations and PagedAttention's own type: no casts around it, half the weight bytes read a step).
 * float16 runs with PagedAttention only, and without adapters (their stacks are float32).
 */
export type ComputeDtype = 'float32' | 'float16';

export const kvDataType = (d: KvDtype): DataType => (d === 'float16' ? FLOAT16 : F);

/**
 * A layer's pool: [blocks, block size, KVH*Dh] for the fused step (block-major, as each sequence reads
 * it), [blocks, block size, KVH, Dh] for PagedAttention (the same bytes, as that kernel names them).
 */
export const poolDims = (a: ResolvedArchitecture, attention: StepAttention): (string | number)[] => [
  'NB',
  'BS',
  ...poolBlockDims(a.n_kv_head, a.head_dim, attention),
];

/** A pool's dimensions after [blocks, block size] (poolDims): what the runner makes it with. */
export const poolBlockDims = (kvHeads: number, headDim: number, attention: StepAttention): number[] =>
  attention === 'paged' ? [kvHeads, headDim] : [kvHeads * headDim];

/**
 * Each layer writes the step's keys and values into its pools first, then each path's sequences attend
 * over their gathered blocks, the new tokens included, in one MultiHeadAttention; every token takes its
 * row back through token_row. With `paged` attention (float16 pools, WebGPU), PagedAttention does both
 * in one node a layer, the pools written in place: the step returns what sampling reads only.
 */
export function deviceEngineGraph(
  a: ResolvedArchitecture,
  w: WeightSource,
  kvDtype: KvDtype,
  lora?: LoraGraphSpec,
  attention: StepAttention = 'fused',
  compute: ComputeDtype = 'float32',
  eosTokenIds: readonly number[] = [],
): Graph {
  const { L, KVH, G, Dh, V } = dimsOf(a);
  if (lora) checkLoraSpec(a, lora);
  const paged = attention === 'paged';
  const half = compute === 'float16';
  if (half && !paged)
    throw new GraphBuildError('device_graph_unsupported', 'a float16 step runs with PagedAttention only');
  if (half && lora)
    throw new GraphBuildError(
      'device_graph_unsupported',
      'a step with adapters computes in float32 (the adapter stacks are float32): load it with deviceCompute float32',
    );
  if (paged && kvDtype !== 'float16')
    throw new GraphBuildError('device_graph_unsupported', 'PagedAttention reads float16 pools only');
  const unfit = paged ? pagedAttentionUnfit(a) : undefined;
  if (unfit)
    throw new GraphBuildError('device_graph_unsupported', `PagedAttention cannot run this model: ${unfit}`);
  const g = new Graph('warmgate_device_engine');
  const KV = kvDataType(kvDtype);
  const step = unpackStep(g, lora !== undefined, attention);
  const kPool = Array.from({ length: L }, (_, l) => g.input(`k_pool_${l}`, KV, poolDims(a, attention)));
  const vPool = Array.from({ length: L }, (_, l) => g.input(`v_pool_${l}`, KV, poolDims(a, attention)));
  // The adapter slots come in the pack (step-pack.ts), the stacks as inputs (lora-grouped.ts).
  const adapt = lora && groupedLora(g, a, lora, step.adapterSlot!);
  attachWeights(g, a, w, compute);
  // A 4-bit weight is MatMulNBits, which reads it as stored: not concatenated with others.
  const isFloat = (n: string) => w.index[n]?.dtype !== 'uint8';

  // The attention of layer l's normed stream h: [T, H*Dh], heads in the model's order.
  let attend: (h: string, l: number, fuse: boolean) => string;
  if (paged) {
    const rotary = pagedRotary(g, a);
    const bounds = g.input(ATTENTION_BOUNDS, I32, [2]);
    attend = (h, l, fuse) =>
      pagedAttention(
        g,
        a,
        devicePackedQkv(g, a, h, l, adapt, fuse),
        kPool[l]!,
        vPool[l]!,
        step.paged!,
        rotary,
        bounds,
        half,
      );
  } else {
    const { tokenRow, prefill, decode } = step.fused!;
    // [T, 2]: each token's block and offset. ScatterND's indices are int64 only: not in the pack.
    const writeIndex = g.input('write_index', I, ['T', 2]);
    const paths = [attentionPath(g, prefill, G), attentionPath(g, decode, G)];
    const dims: HeadDims = [KVH, G, Dh];
    // Rotated keys come as RotaryEmbedding's batch of one: their index gets the same leading 1.
    const batchedIndex = a.position === 'rope' ? g.op('Unsqueeze', [writeIndex, g.const([0])]) : writeIndex;
    const rope = rotaryRows(g, a, step.positions);
    attend = (h, l, fuse) => {
      const { q, k, v, keysBatched } = deviceQkv(g, a, h, l, rope, adapt, fuse);
      const stored = (t: string) => (kvDtype === 'float16' ? g.op('Cast', [t], { to: FLOAT16 }) : t);
      const kOut = `k_pool_out_${l}`;
      const vOut = `v_pool_out_${l}`;
      g.node('ScatterND', [kPool[l]!, keysBatched ? batchedIndex : writeIndex, stored(k)], [kOut]);
      g.node('ScatterND', [vPool[l]!, writeIndex, stored(v)], [vOut]);
      // Each query head's row is (g, kv): MultiHeadAttention runs the KV heads as its heads (fused-attention.ts).
      const byGroup = G > 1 ? g.transpose(q, [0, 2, 1, 3]) : q; // [T,G,KVH,Dh]
      const rows = paths.map((p) => pathAttention(g, p, byGroup, kOut, vOut, dims, kvDtype));
      const attendedRows = g.op('Gather', [g.op('Concat', rows, { axis: 0 }), tokenRow], { axis: 0 }); // [T,G*KVH*Dh]
      return G > 1
        ? g.reshape(g.transpose(g.reshape(attendedRows, [-1, G, KVH, Dh]), [0, 2, 1, 3]), [-1, KVH * G * Dh])
        : attendedRows; // [T,H*Dh]
    };
  }

  // x is the residual stream, h its norm: each skipNorm adds a block's output to x and norms the sum.
  let x = embed(g, a, step.ids, a.position === 'rope' ? step.positions : step.positionIndex());
  let h = firstNorm(g, a, x, layerWeight(0, 'ln1'));
  for (let l = 0; l < L; l++) {
    // q, k and v as one product, unless a weight is 4-bit.
    const out = attend(h, l, qkvWeights(l).every(isFloat));
    const attended = skipNorm(g, a, x, outputProjection(g, a, out, l, adapt), layerWeight(l, 'ln2'));
    const next = l + 1 < L ? layerWeight(l + 1, 'ln1') : 'ln_f';
    const mlped = skipNorm(g, a, attended.sum, deviceMlp(g, a, attended.normed, l, isFloat, adapt), next);
    x = mlped.sum;
    h = mlped.normed;
  }
  // h is ln_f of the last layer's output: the sampled rows' logits against the (tied) embedding.
  const head = a.tied_embeddings ? 'tok_emb' : 'lm_head';
  const product = g.op('Gemm', [g.op('Gather', [h, step.logitsIndex], { axis: 0 }), head], { transB: 1 });
  // The host samples float32 rows, and the greedy rows' log-sum-exp is summed in float32.
  const sampled = half ? g.op('Cast', [product], { to: F }) : product;
  greedyRows(g, sampled, V, eosTokenIds);
  g.op('Gather', [sampled, step.wholeRows], { axis: 0 }, 'logits');
  g.output('logits', F, ['W', V]);
  if (!paged)
    for (let l = 0; l < L; l++) {
      g.output(`k_pool_out_${l}`, KV, poolDims(a, attention));
      g.output(`v_pool_out_${l}`, KV, poolDims(a, attention));
    }
  return g;
}

/**
 * A zeroed pool per layer, made on the device: ConstantOfShape of `pool_shape` [blocks, block size,
 * KVH*Dh]. Open it with the optimizer off: merged as equal subexpressions, the layers' pools would be one
 * buffer.
 */
export function kvPoolInitGraph(
  a: ResolvedArchitecture,
  kvDtype: KvDtype,
  attention: StepAttention = 'fused',
): Graph {
  const { L } = dimsOf(a);
  const KV = kvDataType(kvDtype);
  const g = new Graph('warmgate_kv_pool_init');
  const shape = g.input('pool_shape', I, [poolDims(a, attention).length]);
  for (let l = 0; l < L; l++) {
    for (const side of ['k', 'v']) {
      const name = `${side}_pool_${l}`;
      if (kvDtype === 'float32') g.node('ConstantOfShape', [shape], [name]);
      else g.node('Cast', [g.op('ConstantOfShape', [shape])], [name], { to: FLOAT16 });
      g.output(name, KV, poolDims(a, attention));
    }
  }
  return g;
}

/**
 * Copy-on-write on the device: blocks copy_src of every pool go to blocks copy_dst, written in place like
 * the engine's writes.
 */
export function kvCopyGraph(
  a: ResolvedArchitecture,
  kvDtype: KvDtype,
  attention: StepAttention = 'fused',
): Graph {
  const { L } = dimsOf(a);
  const KV = kvDataType(kvDtype);
  const g = new Graph('warmgate_kv_copy');
  const src = g.input('copy_src', I, ['C']);
  const dst = g.op('Unsqueeze', [g.input('copy_dst', I, ['C']), g.const([1])]);
  for (let l = 0; l < L; l++) {
    for (const side of ['k', 'v']) {
      const pool = g.input(`${side}_pool_${l}`, KV, poolDims(a, attention));
      const blocks = g.op('Gather', [pool, src], { axis: 0 });
      g.node('ScatterND', [pool, dst, blocks], [`${side}_pool_out_${l}`]);
      g.output(`${side}_pool_out_${l}`, KV, poolDims(a, attention));
    }
  }
  return g;
}
