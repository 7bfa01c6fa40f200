/** What the runner needs to know of one scheduled sequence. */
export interface StepEntry {
  readonly tokens: readonly number[];
  /** Tokens already in the cache; this step computes [numComputed, numComputed + numNew). */
  readonly numComputed: number;
  readonly numNew: number;
  readonly blockTable: readonly number[];
  readonly samples: boolean;
  /**
   * false: a sampled entry needs only its greedy token and logprob, which the device step computes, so
   * its logits stay on the device. Absent or true: its whole row comes back (the host step always does).
   */
  readonly wholeLogits?: boolean;
  /** The LoRA adapter slot its tokens run under (0 or absent: the base model). */
  readonly adapterSlot?: number;
}

/** The engine graph's inputs for one step, as flat typed arrays with their shapes. */
export interface StepInputs {
  readonly numTokens: number;
  /** Every token is a decode reading all its tiles in place: the graph's decode-only branch runs the step. */
  readonly decodeOnly: boolean;
  /** Tiles [0, poolTiles) of the pool are passed to the graph (every past block lies below). */
  readonly poolTiles: number;
  readonly inputIds: BigInt64Array;
  readonly positions: BigInt64Array;
  /** Direct rows (decode tokens reading their blocks in place): each row's token. */
  readonly directQuery: BigInt64Array;
  /** Per pool tile, its direct row, or directQuery.length when no row reads it in place. */
  readonly directOwner: BigInt64Array;
  readonly directMask: Float32Array;
  /** One-hot [rows, poolTiles]: which tiles each direct row owns. */
  readonly directSeg: Float32Array;
  /** Per token, its direct row, or directQuery.length. */
  readonly tokenDirectRow: BigInt64Array;
  /** Prefill chunks over their past tiles (groups of many query rows). */
  readonly gathered: GatherInputs;
  /** Decodes over tiles they read but do not own (groups of one query row). */
  readonly shared: GatherInputs;
  readonly newMask: Float32Array;
  readonly logitsIndex: BigInt64Array;
  /** Per entry, its row in the logits output, or -1 when it does not sample this step. */
  readonly logitsRow: Int32Array;
  /** Per new token, block * blockSize + offset: where its key and value go after the step. */
  readonly slots: Int32Array;
}

const MASKED = -1e30;

/** Valid columns of one tile for one sequence: [start, end) pairs, one per block of it in the tile. */
type TileColumns = number[];

/** The step's tokens in order (each entry's new ones in turn): what both step layouts feed alike. */
export interface StepTokens {
  readonly numTokens: number;
  readonly inputIds: BigInt64Array;
  readonly positions: BigInt64Array;
  /** Per new token, block * blockSize + offset: its key and value's place in the pool. */
  readonly slots: Int32Array;
  /** Per entry, its first token's index in the step. */
  readonly first: Int32Array;
  readonly logitsIndex: BigInt64Array;
  /** Per entry, its row in the logits output, or -1 when it does not sample this step. */
  readonly logitsRow: Int32Array;
}

export function stepTokens(entries: readonly StepEntry[], blockSize: number): StepTokens {
  const T = entries.reduce((n, e) => n + e.numNew, 0);
  const inputIds = new BigInt64Array(T);
  const positions = new BigInt64Array(T);
  const slots = new Int32Array(T);
  const first = new Int32Array(entries.length);
  const logitsRow = new Int32Array(entries.length).fill(-1);
  const logitRows: bigint[] = [];
  let t = 0;
  entries.forEach((e, ei) => {
    first[ei] = t;
    for (let i = 0; i < e.numNew; i++, t++) {
      const pos = e.numComputed + i;
      inputIds[t] = BigInt(e.tokens[pos]!);
      positions[t] = BigInt(pos);
      slots[t] = e.blockTable[Math.floor(pos / blockSize)]! * blockSize + (pos % blockSize);
    }
    if (e.samples) {
      logitsRow[ei] = logitRows.length;
      logitRows.push(BigInt(t - 1));
    }
  });
  return {
    numTokens: T,
    inputIds,
    positions,
    slots,
    first,
    logitsIndex: BigInt64Array.from(logitRows),
    logitsRow,
  };
}

/** One gathered path's inputs: S groups, each MB tiles and QM query rows. */
export interface GatherInputs {
  readonly tiles: BigInt64Array;
  readonly mask: Float32Array;
  readonly query: BigInt64Array;
  /** Per token, its row among the S*QM query rows, or S*QM. */
  readonly tokenRow: BigInt64Array;
  readonly shape: readonly [number, number, number];
}

interface GatherGroup {
  tiles: number[];
  columns: TileColumns[];
  first: number;
  count: number;
}

export interface TileShape {
  /** Token slots per block (the allocation unit). */
  readonly blockSize: number;
  /** Blocks per tile (the attention unit); block b lies in tile floor(b / tileBlocks). */
  readonly tileBlocks: number;
}

/**
 * Lays out one step for engine.onnx, whose unit is the tile. Each tile of a sequence's past is read
 * either in place (direct: a decode token that is the tile's only reader in this step owns it) or
 * through a gather (a prefill chunk's past, or a tile another sequence already owns: a shared prompt
 * after an n>1 fork, a prefix hit, or a tile two sequences' blocks ended up in). `inPlace: false` sends
 * every tile through the gather: the naive layout, kept as the benchmark's baseline.
 */
export function buildStepInputs(
  entries: readonly StepEntry[],
  shape: TileShape,
  opts: { inPlace?: boolean } = {},
): StepInputs {
  const inPlace = opts.inPlace ?? true;
  const { blockSize, tileBlocks } = shape;
  const tileSize = blockSize * tileBlocks;
  const tokens = stepTokens(entries, blockSize);
  const T = tokens.numTokens;
  let poolTiles = 1;
  let decodes = 0;
  for (const e of entries) {
    if (inPlace && e.numNew === 1 && e.numComputed > 0) decodes++;
    const pastBlocks = Math.ceil(e.numComputed / blockSize);
    for (let i = 0; i < pastBlocks; i++) {
      poolTiles = Math.max(poolTiles, Math.floor(e.blockTable[i]! / tileBlocks) + 1);
    }
  }
  // At least one direct row and one gather group keep every tensor non-empty; extras are inert.
  const Qd = Math.max(1, decodes);
  const noRow = BigInt(Qd);
  const directQuery = new BigInt64Array(Qd);
  const directOwner = new BigInt64Array(poolTiles).fill(noRow);
  const directMask = new Float32Array(poolTiles * tileSize).fill(MASKED);
  const directSeg = new Float32Array(Qd * poolTiles);
  const tokenDirectRow = new BigInt64Array(T).fill(noRow);
  const newMask = new Float32Array(T * T).fill(MASKED);
  const groups: GatherGroup[] = [];

  let row = 0;
  entries.forEach((e, ei) => {
    const first = tokens.first[ei]!;
    // same sequence, causal
    for (let t = first; t < first + e.numNew; t++) newMask.fill(0, t * T + first, t * T + t + 1);
    const tiles = tilesOf(e, blockSize, tileBlocks);
    const direct = inPlace && e.numNew === 1 && tiles.size > 0;
    if (direct) {
      directQuery[row] = BigInt(first);
      tokenDirectRow[first] = BigInt(row);
    }
    const group: GatherGroup = { tiles: [], columns: [], first, count: e.numNew };
    for (const [tile, cols] of tiles) {
      if (direct && directOwner[tile] === noRow) {
        directOwner[tile] = BigInt(row);
        for (let c = 0; c < cols.length; c += 2)
          directMask.fill(0, tile * tileSize + cols[c]!, tile * tileSize + cols[c + 1]!);
        directSeg[row * poolTiles + tile] = 1;
      } else {
        group.tiles.push(tile);
        group.columns.push(cols);
      }
    }
    if (direct) row++;
    if (group.tiles.length) groups.push(group);
  });

  const gathered = packGroups(
    groups.filter((g) => g.count > 1),
    T,
    tileSize,
  );
  const shared = packGroups(
    groups.filter((g) => g.count === 1),
    T,
    tileSize,
  );

  return {
    numTokens: T,
    decodeOnly: groups.length === 0 && decodes === T,
    poolTiles,
    inputIds: tokens.inputIds,
    positions: tokens.positions,
    directQuery,
    directOwner,
    directMask,
    directSeg,
    tokenDirectRow,
    gathered,
    shared,
    newMask,
    logitsIndex: tokens.logitsIndex,
    logitsRow: tokens.logitsRow,
    slots: tokens.slots,
  };
}

/** The tiles holding a sequence's computed tokens, each with the columns that are this sequence's. */
function tilesOf(e: StepEntry, blockSize: number, tileBlocks: number): Map<number, TileColumns> {
  const tiles = new Map<number, TileColumns>();
  const pastBlocks = Math.ceil(e.numComputed / blockSize);
  for (let i = 0; i < pastBlocks; i++) {
    const block = e.blockTable[i]!;
    const tile = Math.floor(block / tileBlocks);
    const start = (block % tileBlocks) * blockSize;
    const filled = Math.min(blockSize, e.numComputed - i * blockSize);
    const cols = tiles.get(tile) ?? [];
    if (cols.length === 0) tiles.set(tile, cols);
    cols.push(start, start + filled);
  }
  return tiles;
}

/** Pads groups to S x MB tiles and S x QM query rows; at least one (inert) group keeps tensors non-empty. */
function packGroups(groups: readonly GatherGroup[], T: number, tileSize: number): GatherInputs {
  const S = Math.max(1, groups.length);
  const MB = Math.max(1, ...groups.map((g) => g.tiles.length));
  const QM = Math.max(1, ...groups.map((g) => g.count));
  const tiles = new BigInt64Array(S * MB);
  const mask = new Float32Array(S * MB * tileSize).fill(MASKED);
  const query = new BigInt64Array(S * QM).fill(BigInt(T)); // T: the graph's zero query row
  const tokenRow = new BigInt64Array(T).fill(BigInt(S * QM));
  groups.forEach((g, s) => {
    g.tiles.forEach((tile, j) => {
      tiles[s * MB + j] = BigInt(tile);
      const base = (s * MB + j) * tileSize;
      const cols = g.columns[j]!;
      for (let c = 0; c < cols.length; c += 2) mask.fill(0, base + cols[c]!, base + cols[c + 1]!);
    });
    for (let q = 0; q < g.count; q++) {
      query[s * QM + q] = BigInt(g.first + q);
      tokenRow[g.first + q] = BigInt(s * QM + q);
    }
  });
  return { tiles, mask, query, tokenRow, shape: [S, MB, QM] };
}
