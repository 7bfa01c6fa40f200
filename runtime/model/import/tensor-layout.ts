/** Rearrangements of a row-major matrix into a new array. */

/** Tiles keep both the reads and the writes of a transpose within cache lines. */
const TILE = 64;

/** [rows, cols] -> [cols, rows]. */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const row = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[row + c]!;
      }
    }
  }
  return dst;
}

/** Columns start..start+count of a [rows, cols] matrix, as a [rows, count] matrix. */
export function columns(
  src: Float32Array,
  rows: number,
  cols: number,
  start: number,
  count: number,
): Float32Array {
  const dst = new Float32Array(rows * count);
  for (let r = 0; r < rows; r++) {
    dst.set(src.subarray(r * cols + start, r * cols + start + count), r * count);
  }
  return dst;
}
