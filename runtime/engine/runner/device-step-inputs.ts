import ort from 'onnxruntime-node';
import { INVISIBLE } from '../../model/graph/fused-attention.ts';
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
export interface DeviceStepInputs extends StepTokens {
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
  /** [S, QM]: each query row's token, or T (the graph's zero row) for padding. */
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
  const p = packPath(prefill, T, blockSize, tokenRow, 0);
  const d = packPath(decode, T, blockSize, tokenRow, p.shape[0] * p.shape[2]);
  return { ...tokens, prefill: p, decode: d, tokenRow };
}

/**
 * Pads a path to S x MB blocks and S x QM query rows and gives its tokens their rows (from rowBase); an
 * empty path is one inert sequence that sees nothing, so every tensor stays non-empty.
 */
function packPath(
  seqs: readonly Sequence[],
  T: number,
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
  const query = new BigInt64Array(S * QM).fill(BigInt(T));
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

const i64 = (data: BigInt64Array, dims: number[]) => new ort.Tensor('int64', data, dims);
const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

/** The device step's feeds for this layout; `blockView` is [-1, blockSize, KVH*Dh]. */
export function deviceStepFeeds(s: DeviceStepInputs, blockView: ort.Tensor): Record<string, ort.Tensor> {
  const T = s.numTokens;
  const path = (name: string, p: PathInputs) => {
    const [S, MB, QM] = p.shape;
    return {
      [`${name}_blocks`]: i64(p.blocks, [S, MB]),
      [`${name}_key_pos`]: f32(p.keyPos, [S, p.keyPos.length / S]),
      [`${name}_query`]: i64(p.query, [S, QM]),
      [`${name}_query_pos`]: f32(p.queryPos, [S, QM]),
    };
  };
  return {
    input_ids: i64(s.inputIds, [T]),
    positions: i64(s.positions, [T]),
    write_slots: i64(
      BigInt64Array.from(s.slots, (x) => BigInt(x)),
      [T],
    ),
    block_view: blockView,
    ...path('prefill', s.prefill),
    ...path('decode', s.decode),
    token_row: i64(s.tokenRow, [T]),
    logits_index: i64(s.logitsIndex, [s.logitsIndex.length]),
  };
}
