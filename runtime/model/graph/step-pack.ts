import { DataType, type Graph } from '../onnx/index.ts';

/*
 * The device step's small inputs travel as one tensor. Through onnxruntime-node on the WebGPU provider
 * each host tensor a run is fed costs about 1.1 ms on its way to the device, whatever its size: the
 * demo's step spent ~11 of its ~16 ms sending 14 of them (BENCHMARKS.md, H100). So the runner packs them
 * into one float32 tensor (every value is a whole number below 2^24, exact in float32) and the graph
 * splits it on the device, casting the indices to int32 there (Gather takes int32). The split sizes and
 * the 2-D pieces' shapes are host inputs too, but read on the host (Split's sizes, Reshape's shape), so
 * they are not sent up. The pool write's slots stay their own int64 input: ScatterND takes no other type.
 */

const { FLOAT: F, INT32: I32, INT64: I } = DataType;

/** [N] float32: the pieces below, in order, one after another. */
export const STEP_PACK = 'step_pack';
/** [K] int64, read on the host: each piece's length. */
export const STEP_PACK_SIZES = 'step_pack_sizes';
/** The largest value a piece may hold (float32 counts exactly to 2^24). */
export const STEP_PACK_MAX = 2 ** 24;

export type StepPath = 'prefill' | 'decode';
/** [2] int64, read on the host: a path's [S, MB], [S, QM] and [S, L]. */
export const pathShapeInput = (path: StepPath, of: 'blocks' | 'rows' | 'keys'): string =>
  `${path}_${of}_shape`;

/**
 * How the device step attends (device-engine.ts): `fused`, each path's sequences gathered from the
 * pools for one MultiHeadAttention; `paged`, ONNX Runtime's PagedAttention reading the pools through the
 * block table and writing them in place (paged-attention.ts).
 */
export type StepAttention = 'fused' | 'paged';

/** [2] int64, read on the host: the paged step's block table's [S, MB]. */
export const PAGED_BLOCKS_SHAPE = 'paged_block_table_shape';

/**
 * The packed pieces in order: [T] each token's, [R] the sampled rows, [W] those of them that come back
 * whole; then each path's four (fused) or
 * each sequence's token boundaries [S+1], cached lengths [S] and block table [S*MB] (paged); then [T]
 * adapter slots.
 */
export function stepPackPieces(adapters: boolean, attention: StepAttention = 'fused'): string[] {
  const path = (p: StepPath) => [`${p}_blocks`, `${p}_key_pos`, `${p}_query`, `${p}_query_pos`];
  const layout =
    attention === 'paged'
      ? ['seq_starts', 'past_lens', 'block_table']
      : ['token_row', ...path('prefill'), ...path('decode')];
  return [
    'input_ids',
    'positions',
    'logits_index',
    'whole_rows',
    ...layout,
    ...(adapters ? ['adapter_slot'] : []),
  ];
}

/** One path's pieces on the device. */
export interface PathPieces {
  /** [S, MB] int32: each sequence's pool blocks. */
  readonly blocks: string;
  /** [S, L] float32: each column's position, or above any. */
  readonly keyPos: string;
  /** [S, QM] int32: each query row's token. */
  readonly query: string;
  /** [S, QM] float32: each query row's position. */
  readonly queryPos: string;
}

/** The paged step's layout on the device, int32 as PagedAttention reads it. */
export interface PagedPieces {
  /** [S+1]: where each sequence's tokens start among the step's, and T. */
  readonly seqStarts: string;
  /** [S]: each sequence's tokens already in the pools. */
  readonly pastLens: string;
  /** [S, MB]: each sequence's pool blocks. */
  readonly blockTable: string;
}

/** The step's small inputs, unpacked on the device. */
export interface StepPieces {
  /** [T] int32. */
  readonly ids: string;
  /** [T] float32 (RoPE's angles) and, made on first use, int32 (a learned position table's rows). */
  readonly positions: string;
  positionIndex(): string;
  /** [R] int32: the step tokens whose logits are computed (each gets its greedy row). */
  readonly logitsIndex: string;
  /** [W] int32: which of the R rows come back whole. */
  readonly wholeRows: string;
  /** The fused step's: [T] int32, each token's row among the paths' rows, and the two paths. */
  readonly fused?: { readonly tokenRow: string; readonly prefill: PathPieces; readonly decode: PathPieces };
  readonly paged?: PagedPieces;
  /** [T] int32: each token's adapter slot (lora-grouped.ts); with adapters only. */
  readonly adapterSlot?: string;
}

/** Declares the pack and its host-read companions, and splits it. */
export function unpackStep(g: Graph, adapters: boolean, attention: StepAttention = 'fused'): StepPieces {
  const names = stepPackPieces(adapters, attention);
  const packed = g.input(STEP_PACK, F, ['N']);
  const sizes = g.input(STEP_PACK_SIZES, I, [names.length]);
  const raw = names.map((n) => `${n}_packed`);
  g.node('Split', [packed, sizes], raw, { axis: 0 });
  const piece = (n: string) => raw[names.indexOf(n)]!;
  const index = (n: string) => g.op('Cast', [piece(n)], { to: I32 });
  const shaped = (t: string, shape: string) => g.op('Reshape', [t, shape]);
  const path = (p: StepPath): PathPieces => {
    const rows = g.input(pathShapeInput(p, 'rows'), I, [2]);
    return {
      blocks: shaped(index(`${p}_blocks`), g.input(pathShapeInput(p, 'blocks'), I, [2])),
      keyPos: shaped(piece(`${p}_key_pos`), g.input(pathShapeInput(p, 'keys'), I, [2])),
      query: shaped(index(`${p}_query`), rows),
      queryPos: shaped(piece(`${p}_query_pos`), rows),
    };
  };
  let positionIndex: string | undefined;
  return {
    ids: index('input_ids'),
    positions: piece('positions'),
    positionIndex: () => (positionIndex ??= index('positions')),
    logitsIndex: index('logits_index'),
    wholeRows: index('whole_rows'),
    ...(attention === 'fused'
      ? { fused: { tokenRow: index('token_row'), prefill: path('prefill'), decode: path('decode') } }
      : {
          paged: {
            seqStarts: index('seq_starts'),
            pastLens: index('past_lens'),
            blockTable: shaped(index('block_table'), g.input(PAGED_BLOCKS_SHAPE, I, [2])),
          },
        }),
    ...(adapters && { adapterSlot: index('adapter_slot') }),
  };
}
