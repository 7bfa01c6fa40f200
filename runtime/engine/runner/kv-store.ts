import type { ModelManifest } from '../../model/index.ts';
import type { BlockCopy } from '../kv/index.ts';

/**
 * The KV cache's memory: per layer, one Float32Array of keys [block, kv_head, head_dim, slot] and one of
 * values [block, kv_head, slot, head_dim] (the layout engine.onnx reads in place; keys are stored
 * transposed so attention scores need no Transpose). Sized in bytes; block ids index it directly.
 */
export class KVStore {
  readonly numBlocks: number;
  readonly blockSize: number;
  /** Floats of one block in one layer's key (or value) array. */
  readonly blockFloats: number;
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  readonly #kvHeads: number;
  readonly #headDim: number;

  static bytesPerBlock(arch: ModelManifest['architecture'], blockSize: number): number {
    return arch.n_layer * 2 * arch.n_kv_head * arch.head_dim * blockSize * Float32Array.BYTES_PER_ELEMENT;
  }

  constructor(arch: ModelManifest['architecture'], blockSize: number, numBlocks: number) {
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.#kvHeads = arch.n_kv_head;
    this.#headDim = arch.head_dim;
    this.blockFloats = arch.n_kv_head * arch.head_dim * blockSize;
    // fill(0) touches every page: the pool's memory is committed at start, not discovered mid-step.
    const make = () =>
      Array.from({ length: arch.n_layer }, () => new Float32Array(numBlocks * this.blockFloats).fill(0));
    this.keys = make();
    this.values = make();
  }

  get bytes(): number {
    return this.keys.length * 2 * this.numBlocks * this.blockFloats * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Copy-on-write: a shared block's contents move to the sequence's private copy before it writes. */
  copy(copies: readonly BlockCopy[]): void {
    const f = this.blockFloats;
    for (const { src, dst } of copies) {
      for (let l = 0; l < this.keys.length; l++) {
        this.keys[l]!.copyWithin(dst * f, src * f, (src + 1) * f);
        this.values[l]!.copyWithin(dst * f, src * f, (src + 1) * f);
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
    const bs = this.blockSize;
    for (let l = 0; l < this.keys.length; l++) {
      const k = this.keys[l]!;
      const v = this.values[l]!;
      for (let t = 0; t < T; t++) {
        const slot = slots[t]!;
        const block = Math.floor(slot / bs);
        const offset = slot - block * bs;
        for (let h = 0; h < H; h++) {
          const src = ((l * T + t) * H + h) * D;
          const kBase = (block * H + h) * D * bs + offset;
          for (let d = 0; d < D; d++) k[kBase + d * bs] = newKeys[src + d]!;
          v.set(newValues.subarray(src, src + D), ((block * H + h) * bs + offset) * D);
        }
      }
    }
  }
}
