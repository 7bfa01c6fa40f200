import ort from 'onnxruntime-node';
import { INVISIBLE } from '../../model/graph/fused-attention.ts';
import { pathShapeInput, STEP_PACK, STEP_PACK_SIZES, stepPackPieces } from '../../model/graph/step-pack.ts';
import { exactFloats as exact, packFloat32 } from './float-pack.ts';
import { type SampledRows, sampledRows } from './sampled-rows.ts';
import { type StepEntry, stepTokens, type StepTokens } from './step-inputs.ts';

/**
 * Lays out one step for the device graph's fused attention (graph/fused-attention.ts). The graph writes
 * the step's keys and values before it reads, so each sequence reads the blocks of all its tokens, the new
 * ones included, and each query row sees the columns at or before its position. Sequences with several
 * new tokens go to the prefill path, single tokens to the decode path.
 *
 * The unit read is the block, whatever the engine's tile size: a tile may hold other sequences' blocks,
 * and a sequence reading whole tiles would read (and attend over, masked) up to tileBlocks times its own
 * keys. The graph sees the pools as [blocks, blockSize, KVH*Dh].
 */
export interface DeviceStepInputs extends StepTokens, SampledRows {
  readonly prefill: PathInputs;
  readonly decode: PathInputs;
  /** Per token, its row among the prefill path's S*QM rows, then the decode path's. */
  readonly tokenRow: BigInt64Array;
}

/** One path: S sequences, each MB blocks (L = MB * blockSize columns) and QM query rows. */
export interface PathInputs {
  readonly blocks: BigInt64Array;
  /** [S, L]: the position each column holds for its sequence, or INVISIBLE. */
  readonly keyPos: Float32Array;
  /** [S, QM]: each query row's token, or 0 for padding (any token does: the row sees nothing). */
  readonly query: BigInt64Array;
  /** [S, QM]: each query row's position, or -1 for padding (it sees nothing). */
  readonly queryPos: Float32Array;
  readonly shape: readonly [S: number, MB: number, QM: number];
}

interface Sequence {
  /** Its blocks in order; block i holds positions [i * blockSize, (i + 1) * blockSize). */
  readonly blocks: readonly number[];
  /** Its first token in the step, how many it has, and the position of the first. */
  readonly first: number;
  readonly count: number;
  readonly start: number;
}

export function buildDeviceStepInputs(entries: readonly StepEntry[], blockSize: number): DeviceStepInputs {
  const tokens = stepTokens(entries, blockSize);
  const prefill: Sequence[] = [];
  const decode: Sequence[] = [];
  entries.forEach((e, ei) => {
    const blocks = e.blockTable.slice(0, Math.ceil((e.numComputed + e.numNew) / blockSize));
    const seq: Sequence = { blocks, first: tokens.first[ei]!, count: e.numNew, start: e.numComputed };
    (e.numNew > 1 ? prefill : decode).push(seq);
  });
  const T = tokens.numTokens;
  const tokenRow = new BigInt64Array(T);
  const p = packPath(prefill, blockSize, tokenRow, 0);
  const d = packPath(decode, blockSize, tokenRow, p.shape[0] * p.shape[2]);
  return { ...tokens, ...sampledRows(entries, tokens), prefill: p, decode: d, tokenRow };
}

/**
 * Pads a path to S x MB blocks and S x QM query rows and gives its tokens their rows (from rowBase); an
 * empty path is one inert sequence that sees nothing, so every tensor stays non-empty.
 */
function packPath(
  seqs: readonly Sequence[],
  blockSize: number,
  tokenRow: BigInt64Array,
  rowBase: number,
): PathInputs {
  const S = Math.max(1, seqs.length);
  const MB = Math.max(1, ...seqs.map((s) => s.blocks.length));
  const QM = Math.max(1, ...seqs.map((s) => s.count));
  const L = MB * blockSize;
  const blocks = new BigInt64Array(S * MB);
  const keyPos = new Float32Array(S * L).fill(INVISIBLE);
  const query = new BigInt64Array(S * QM);
  const queryPos = new Float32Array(S * QM).fill(-1);
  seqs.forEach((seq, s) => {
    seq.blocks.forEach((block, j) => (blocks[s * MB + j] = BigInt(block)));
    for (let p = 0; p < seq.start + seq.count; p++) keyPos[s * L + p] = p;
    for (let q = 0; q < seq.count; q++) {
      query[s * QM + q] = BigInt(seq.first + q);
      queryPos[s * QM + q] = seq.start + q;
      tokenRow[seq.first + q] = BigInt(rowBase + s * QM + q);
    }
  });
  return { blocks, keyPos, query, queryPos, shape: [S, MB, QM] };
}

/**
 * The device step's feeds for this layout (graph/step-pack.ts): its small inputs packed in one float32
 * tensor with their lengths and the paths' shapes beside it (read on the host, not sent up), and the pool
 * write's index (each token's block and offset in the block-major pools). `adapterSlots`: each token's
 * slot, for a step graph with adapters.
 */
export function deviceStepFeeds(
  s: DeviceStepInputs,
  blockSize: number,
  adapterSlots?: Int32Array,
): Record<string, ort.Tensor> {
  const pieces: Record<string, Float32Array> = {
    input_ids: exact('input_ids', s.inputIds),
    positions: exact('positions', s.positions),
    token_row: exact('token_row', s.tokenRow),
    logits_index: exact('logits_index', s.logitsIndex),
    whole_rows: exact('whole_rows', s.wholeRows),
  };
  const shapes: Record<string, ort.Tensor> = {};
  for (const [name, p] of [['prefill', s.prefill] as const, ['decode', s.decode] as const]) {
    const [S, MB, QM] = p.shape;
    pieces[`${name}_blocks`] = exact(`${name}_blocks`, p.blocks);
    pieces[`${name}_key_pos`] = p.keyPos;
    pieces[`${name}_query`] = exact(`${name}_query`, p.query);
    pieces[`${name}_query_pos`] = p.queryPos;
    shapes[pathShapeInput(name, 'blocks')] = i64([S, MB]);
    shapes[pathShapeInput(name, 'rows')] = i64([S, QM]);
    shapes[pathShapeInput(name, 'keys')] = i64([S, p.keyPos.length / S]);
  }
  if (adapterSlots) pieces.adapter_slot = exact('adapter_slot', adapterSlots);
  const { packed, sizes } = packFloat32(stepPackPieces(adapterSlots !== undefined).map((n) => pieces[n]!));
  return {
    [STEP_PACK]: new ort.Tensor('float32', packed, [packed.length]),
    [STEP_PACK_SIZES]: new ort.Tensor('int64', sizes, [sizes.length]),
    ...shapes,
    write_index: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: 2 * s.numTokens }, (_, k) => {
        const slot = s.slots[k >> 1]!;
        return BigInt(k & 1 ? slot % blockSize : Math.floor(slot / blockSize));
      }),
      [s.numTokens, 2],
    ),
  };
}

const i64 = (values: readonly number[]) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    [values.length],
  );
