/** What the runner needs to know of one scheduled sequence. */
export interface StepEntry {
  readonly tokens: readonly number[];
  /** Tokens already in the cache; this step computes [numComputed, numComputed + numNew). */
  readonly numComputed: number;
  readonly numNew: number;
  readonly blockTable: readonly number[];
  readonly samples: boolean;
}

/** The engine graph's inputs for one step, as flat typed arrays with their shapes. */
export interface StepInputs {
  readonly numTokens: number;
  /** Blocks [0, poolBlocks) of the pool are passed to the graph (all past blocks lie below). */
  readonly poolBlocks: number;
  readonly inputIds: BigInt64Array;
  readonly positions: BigInt64Array;
  readonly directOwner: BigInt64Array;
  readonly directMask: Float32Array;
  readonly gatherBlocks: BigInt64Array;
  readonly gatherMask: Float32Array;
  readonly gatherQuery: BigInt64Array;
  readonly gatherShape: readonly [number, number, number];
  readonly newMask: Float32Array;
  readonly logitsIndex: BigInt64Array;
  /** Per entry, its row in the logits output, or -1 when it does not sample this step. */
  readonly logitsRow: Int32Array;
  /** Per new token, block * blockSize + offset: where its key and value go after the step. */
  readonly slots: Int32Array;
}

const MASKED = -1e30;

/**
 * Lays out one step for engine.onnx. Each past block is read either in place (direct: a decode token
 * that is the block's only reader in this step owns it) or through a gather (a prefill chunk's past,
 * or a block another sequence already owns, e.g. a shared prompt after an n>1 fork or a prefix hit).
 */
export function buildStepInputs(
  entries: readonly StepEntry[],
  blockSize: number,
  opts: { inPlace?: boolean } = {},
): StepInputs {
  const inPlace = opts.inPlace ?? true; // false routes every block through the gather (benchmark baseline)
  let T = 0;
  let poolBlocks = 1;
  for (const e of entries) {
    T += e.numNew;
    const pastBlocks = Math.ceil(e.numComputed / blockSize);
    for (let i = 0; i < pastBlocks; i++) poolBlocks = Math.max(poolBlocks, e.blockTable[i]! + 1);
  }
  const sink = BigInt(T); // row T of the graph's per-token tensors absorbs padding and unowned blocks
  const inputIds = new BigInt64Array(T);
  const positions = new BigInt64Array(T);
  const slots = new Int32Array(T);
  const directOwner = new BigInt64Array(poolBlocks).fill(sink);
  const directMask = new Float32Array(poolBlocks * blockSize).fill(MASKED);
  const newMask = new Float32Array(T * T).fill(MASKED);
  const logitsRow = new Int32Array(entries.length).fill(-1);
  const logitRows: bigint[] = [];
  const groups: { blocks: number[]; valid: number[]; first: number; count: number }[] = [];

  let t = 0;
  entries.forEach((e, ei) => {
    const first = t;
    for (let i = 0; i < e.numNew; i++, t++) {
      const pos = e.numComputed + i;
      inputIds[t] = BigInt(e.tokens[pos]!);
      positions[t] = BigInt(pos);
      slots[t] = e.blockTable[Math.floor(pos / blockSize)]! * blockSize + (pos % blockSize);
      newMask.fill(0, t * T + first, t * T + t + 1); // same sequence, causal
    }
    if (e.samples) {
      logitsRow[ei] = logitRows.length;
      logitRows.push(BigInt(t - 1));
    }
    const pastBlocks = Math.ceil(e.numComputed / blockSize);
    const gathered: number[] = [];
    const valid: number[] = [];
    for (let i = 0; i < pastBlocks; i++) {
      const block = e.blockTable[i]!;
      const n = Math.min(blockSize, e.numComputed - i * blockSize);
      if (inPlace && e.numNew === 1 && directOwner[block] === sink) {
        directOwner[block] = BigInt(first);
        directMask.fill(0, block * blockSize, block * blockSize + n);
      } else {
        gathered.push(block);
        valid.push(n);
      }
    }
    if (gathered.length) groups.push({ blocks: gathered, valid, first, count: e.numNew });
  });

  const S = Math.max(1, groups.length);
  const MB = Math.max(1, ...groups.map((g) => g.blocks.length));
  const QM = Math.max(1, ...groups.map((g) => g.count));
  const gatherBlocks = new BigInt64Array(S * MB);
  const gatherMask = new Float32Array(S * MB * blockSize).fill(MASKED);
  const gatherQuery = new BigInt64Array(S * QM).fill(sink);
  groups.forEach((g, s) => {
    g.blocks.forEach((block, j) => {
      gatherBlocks[s * MB + j] = BigInt(block);
      const base = (s * MB + j) * blockSize;
      gatherMask.fill(0, base, base + g.valid[j]!);
    });
    for (let q = 0; q < g.count; q++) gatherQuery[s * QM + q] = BigInt(g.first + q);
  });

  return {
    numTokens: T,
    poolBlocks,
    inputIds,
    positions,
    directOwner,
    directMask,
    gatherBlocks,
    gatherMask,
    gatherQuery,
    gatherShape: [S, MB, QM],
    newMask,
    logitsIndex: BigInt64Array.from(logitRows),
    logitsRow,
    slots,
  };
}
