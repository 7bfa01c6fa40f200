import type { ModelManifest } from '../../model/index.ts';
import type { BlockCopy } from '../kv/index.ts';
import type { TileShape } from './step-inputs.ts';

/**
 * The KV cache's memory. Per layer, one Float32Array of keys [tile, kv_head, head_dim, tile_slot] and one
 * of values [tile, kv_head, tile_slot, head_dim]: the layout engine.onnx reads in place (keys stored
 * transposed, so attention scores need no Transpose). A tile is `tileBlocks` consecutive blocks; block b
 * occupies slots [(b % tileBlocks) * blockSize, +blockSize) of tile floor(b / tileBlocks). Allocation
 * stays per block (little waste); attention runs per tile (few, larger matrix products).
 */
export class KVStore {
  readonly numBlocks: number;
  readonly numTiles: number;
  readonly blockSize: number;
  readonly tileBlocks: number;
  readonly tileSize: number;
  /** Floats of one tile in one layer's key (or value) array. */
  readonly tileFloats: number;
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  readonly #kvHeads: number;
  readonly #headDim: number;

  static bytesPerBlock(arch: ModelManifest['architecture'], blockSize: number): number {
    return arch.n_layer * 2 * arch.n_kv_head * arch.head_dim * blockSize * Float32Array.BYTES_PER_ELEMENT;
  }

  /**
   * `arena`, when given and large enough, is zeroed memory whose pages were committed ahead (a standby
   * process does that before it knows its model): the arrays are views into it and need no fill.
   */
  constructor(arch: ModelManifest['architecture'], shape: TileShape, numBlocks: number, arena?: ArrayBuffer) {
    this.numBlocks = numBlocks;
    this.blockSize = shape.blockSize;
    this.tileBlocks = shape.tileBlocks;
    this.tileSize = shape.blockSize * shape.tileBlocks;
    this.numTiles = Math.ceil(numBlocks / shape.tileBlocks);
    this.#kvHeads = arch.n_kv_head;
    this.#headDim = arch.head_dim;
    this.tileFloats = arch.n_kv_head * arch.head_dim * this.tileSize;
    const floats = this.numTiles * this.tileFloats;
    if (
      arena !== undefined &&
      arena.byteLength >= 2 * arch.n_layer * floats * Float32Array.BYTES_PER_ELEMENT
    ) {
      let next = 0;
      const view = () => new Float32Array(arena, next++ * floats * Float32Array.BYTES_PER_ELEMENT, floats);
      this.keys = Array.from({ length: arch.n_layer }, view);
      this.values = Array.from({ length: arch.n_layer }, view);
    } else {
      // fill(0) touches every page: the pool's memory is committed at start, not discovered mid-step.
      const make = () => Array.from({ length: arch.n_layer }, () => new Float32Array(floats).fill(0));
      this.keys = make();
      this.values = make();
    }
  }

  get bytes(): number {
    return this.keys.length * 2 * this.numTiles * this.tileFloats * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Copy-on-write: a shared block's contents move to the sequence's private copy before it writes. */
  copy(copies: readonly BlockCopy[]): void {
    const H = this.#kvHeads;
    const D = this.#headDim;
    const bs = this.blockSize;
    const ts = this.tileSize;
    for (const { src, dst } of copies) {
      const [st, sc] = this.#locate(src);
      const [dt, dc] = this.#locate(dst);
      for (let l = 0; l < this.keys.length; l++) {
        const k = this.keys[l]!;
        const v = this.values[l]!;
        for (let h = 0; h < H; h++) {
          for (let d = 0; d < D; d++) {
            const from = ((st * H + h) * D + d) * ts + sc;
            k.copyWithin(((dt * H + h) * D + d) * ts + dc, from, from + bs);
          }
          const from = ((st * H + h) * ts + sc) * D;
          v.copyWithin(((dt * H + h) * ts + dc) * D, from, from + bs * D);
        }
      }
    }
  }

  /**
   * Writes the step's new keys and values ([layer, token, kv_head, head_dim], as engine.onnx returns
   * them) into each token's slot; `slots[t]` is block * blockSize + offset.
   */
  write(newKeys: Float32Array, newValues: Float32Array, slots: Int32Array): void {
    const T = slots.length;
    const H = this.#kvHeads;
    const D = this.#headDim;
    const ts = this.tileSize;
    for (let t = 0; t < T; t++) {
      const slot = slots[t]!;
      const block = Math.floor(slot / this.blockSize);
      const [tile, col0] = this.#locate(block);
      const col = col0 + slot - block * this.blockSize;
      for (let l = 0; l < this.keys.length; l++) {
        const k = this.keys[l]!;
        const v = this.values[l]!;
        for (let h = 0; h < H; h++) {
          const src = ((l * T + t) * H + h) * D;
          const kBase = (tile * H + h) * D * ts + col;
          const vBase = ((tile * H + h) * ts + col) * D;
          for (let d = 0; d < D; d++) {
            k[kBase + d * ts] = newKeys[src + d]!;
            v[vBase + d] = newValues[src + d]!;
          }
        }
      }
    }
  }

  /** Tile of a block and the block's first column in it. */
  #locate(block: number): [number, number] {
    const tile = Math.floor(block / this.tileBlocks);
    return [tile, (block - tile * this.tileBlocks) * this.blockSize];
  }
}
