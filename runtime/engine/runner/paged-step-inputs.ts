import ort from 'onnxruntime-node';
import { ATTENTION_BOUNDS } from '../../model/graph/paged-attention.ts';
import {
  PAGED_BLOCKS_SHAPE,
  STEP_PACK,
  STEP_PACK_SIZES,
  stepPackPieces,
} from '../../model/graph/step-pack.ts';
import { exactFloats as exact, packFloat32 } from './float-pack.ts';
import { type SampledRows, sampledRows } from './sampled-rows.ts';
import { type StepEntry, stepTokens, type StepTokens } from './step-inputs.ts';

/**
 * Lays out one step for PagedAttention (graph/paged-attention.ts): the step's tokens grouped by sequence
 * in the entries' order (stepTokens' order), each sequence's token boundaries, its tokens already in
 * the pools and its block table, padded to the step's longest with block 0 (never read: the kernel stops
 * at each sequence's length). The kernel writes each new token at its position's block and offset, so no
 * write index goes up; its rotation reads the same positions.
 */
export interface PagedStepInputs extends StepTokens, SampledRows {
  /** [S+1]: where each sequence's tokens start, then T. */
  readonly seqStarts: Int32Array;
  /** [S]: each sequence's tokens already in the pools. */
  readonly pastLens: Int32Array;
  /** [S, MB]: each sequence's blocks, in order. */
  readonly blockTable: Int32Array;
  readonly shape: readonly [S: number, MB: number];
  /** The longest new-token run and the longest sequence (with its new tokens). */
  readonly bounds: readonly [query: number, kv: number];
}

export function buildPagedStepInputs(entries: readonly StepEntry[], blockSize: number): PagedStepInputs {
  const tokens = stepTokens(entries, blockSize);
  const S = entries.length;
  const lengths = entries.map((e) => e.numComputed + e.numNew);
  const MB = Math.max(1, ...lengths.map((n) => Math.ceil(n / blockSize)));
  const seqStarts = new Int32Array(S + 1);
  const pastLens = new Int32Array(S);
  const blockTable = new Int32Array(S * MB);
  entries.forEach((e, s) => {
    seqStarts[s + 1] = seqStarts[s]! + e.numNew;
    // stepTokens lays each entry's tokens out after the one before: the kernel's packed order.
    if (tokens.first[s] !== seqStarts[s]) throw new Error('paged step: tokens not grouped by sequence');
    pastLens[s] = e.numComputed;
    const blocks = Math.ceil(lengths[s]! / blockSize);
    for (let j = 0; j < blocks; j++) blockTable[s * MB + j] = e.blockTable[j]!;
  });
  const bounds = [Math.max(0, ...entries.map((e) => e.numNew)), Math.max(0, ...lengths)] as const;
  return {
    ...tokens,
    ...sampledRows(entries, tokens),
    seqStarts,
    pastLens,
    blockTable,
    shape: [S, MB],
    bounds,
  };
}

/**
 * The paged step's feeds (graph/step-pack.ts): its small inputs packed in one float32 tensor with their
 * lengths and the block table's shape beside it (read on the host), and the kernel's bounds as a host
 * tensor it reads on the host. `adapterSlots`: each token's slot, for a step graph with adapters.
 */
export function pagedStepFeeds(s: PagedStepInputs, adapterSlots?: Int32Array): Record<string, ort.Tensor> {
  const pieces: Record<string, Float32Array> = {
    input_ids: exact('input_ids', s.inputIds),
    positions: exact('positions', s.positions),
    logits_index: exact('logits_index', s.logitsIndex),
    whole_rows: exact('whole_rows', s.wholeRows),
    seq_starts: exact('seq_starts', s.seqStarts),
    past_lens: exact('past_lens', s.pastLens),
    block_table: exact('block_table', s.blockTable),
  };
  if (adapterSlots) pieces.adapter_slot = exact('adapter_slot', adapterSlots);
  const names = stepPackPieces(adapterSlots !== undefined, 'paged');
  const { packed, sizes } = packFloat32(names.map((n) => pieces[n]!));
  return {
    [STEP_PACK]: new ort.Tensor('float32', packed, [packed.length]),
    [STEP_PACK_SIZES]: new ort.Tensor('int64', sizes, [sizes.length]),
    [PAGED_BLOCKS_SHAPE]: new ort.Tensor('int64', BigInt64Array.from(s.shape, BigInt), [2]),
    [ATTENTION_BOUNDS]: new ort.Tensor('int32', Int32Array.from(s.bounds), [2]),
  };
}
