/**
 * Rearrangements of a row-major [rows, cols] matrix, produced a block of output rows at a time so the
 * rearranged copy never exists whole: the writer streams each block out.
 */

/** Tiles keep both the reads and the writes of a transpose within cache lines. */
const TILE = 64;

/** Output elements per block (4 MB of float32). */
export const BLOCK_ELEMENTS = 1 << 20;

/**
 * The transpose ([cols, rows]) in blocks of whole output rows, each written into `out` (reused: use a
 * block before asking for the next).
 */
export function* transposedBlocks(
  src: Float32Array,
  rows: number,
  cols: number,
  out: Float32Array,
): Generator<Float32Array> {
  if (out.length < rows) throw new RangeError(`a block of ${out.length} cannot hold a row of ${rows}`);
  const perBlock = Math.floor(out.length / rows);
  for (let c0 = 0; c0 < cols; c0 += perBlock) {
    const c1 = Math.min(cols, c0 + perBlock);
    const block = out.subarray(0, (c1 - c0) * rows);
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(rows, r0 + TILE);
      for (let t0 = c0; t0 < c1; t0 += TILE) {
        const t1 = Math.min(c1, t0 + TILE);
        for (let r = r0; r < r1; r++) {
          const row = r * cols;
          for (let c = t0; c < t1; c++) block[(c - c0) * rows + r] = src[row + c]!;
        }
      }
    }
    yield block;
  }
}

/** Columns start..start+count of each row ([rows, count]), in blocks of whole output rows. */
export function* columnBlocks(
  src: Float32Array,
  rows: number,
  cols: number,
  start: number,
  count: number,
  out: Float32Array,
): Generator<Float32Array> {
  if (out.length < count) throw new RangeError(`a block of ${out.length} cannot hold a row of ${count}`);
  const perBlock = Math.floor(out.length / count);
  for (let r0 = 0; r0 < rows; r0 += perBlock) {
    const r1 = Math.min(rows, r0 + perBlock);
    const block = out.subarray(0, (r1 - r0) * count);
    for (let r = r0; r < r1; r++) {
      block.set(src.subarray(r * cols + start, r * cols + start + count), (r - r0) * count);
    }
    yield block;
  }
}
