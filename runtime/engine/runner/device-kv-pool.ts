import ort from 'onnxruntime-node';
import { poolBlockDims } from '../../model/graph/index.ts';
import type { DeviceSessions, ModelManifest } from '../../model/index.ts';
import type { BlockCopy } from '../kv/index.ts';
import type { TileShape } from './step-inputs.ts';

/**
 * The KV cache's memory on the device: per layer one key and one value pool [slots, KVH, Dh] (slot =
 * block * blockSize + offset), made zeroed on the device. The fused step reads the pools and returns
 * them with its keys and values written (graph/device-engine.ts); the returned buffers are the pools from
 * then on and the old ones are freed. The paged step (graph/paged-attention.ts) writes them in place and
 * returns none. Nothing of them crosses to the host; copy-on-write runs on the device too.
 *
 * Why the fused step cannot write in place: onnxruntime-node 1.30 runs with IO binding whenever outputs
 * stay on the device, and its binding ignores a preallocated fetch there (measured on an H100: a write to
 * a pool fetched into its own input's buffer did not persist), so ONNX Runtime allocates each output.
 * ScatterND then copies the pool on the device before writing (device bandwidth, no bus), and the
 * allocator's cache reuses the freed buffers step after step. PagedAttention, with its cache outputs
 * left out, writes into the input buffers themselves.
 */
export class DeviceKVPool {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly slots: number;
  readonly #sessions: DeviceSessions;
  readonly #layers: number;
  readonly #kvHeads: number;
  readonly #headDim: number;
  #pools: Record<string, ort.Tensor> | null = null;
  #making: Promise<void> | null = null;

  static bytesPerBlock(arch: ModelManifest['architecture'], blockSize: number, s: DeviceSessions): number {
    const bytes = s.kvDtype === 'float16' ? 2 : 4;
    return arch.n_layer * 2 * arch.n_kv_head * arch.head_dim * blockSize * bytes;
  }

  constructor(arch: ModelManifest['architecture'], shape: TileShape, numBlocks: number, s: DeviceSessions) {
    this.numBlocks = numBlocks;
    this.blockSize = shape.blockSize;
    // Whole blocks, so the graph's [-1, block size, KVH*Dh] view of a pool is exact.
    this.slots = numBlocks * this.blockSize;
    this.#sessions = s;
    this.#layers = arch.n_layer;
    this.#kvHeads = arch.n_kv_head;
    this.#headDim = arch.head_dim;
  }

  get bytes(): number {
    const bytes = this.#sessions.kvDtype === 'float16' ? 2 : 4;
    return this.#layers * 2 * this.slots * this.#kvHeads * this.#headDim * bytes;
  }

  /** The pools as the paged step's inputs, which it writes in place. */
  async feedInPlace(feeds: Record<string, ort.Tensor>): Promise<void> {
    Object.assign(feeds, await this.#ready());
  }

  /** The pools as a step's or the copy's inputs (`k_pool_l`); their outputs (`k_pool_out_l`) fetched. */
  async bind(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>): Promise<void> {
    const pools = await this.#ready();
    for (const [name, t] of Object.entries(pools)) {
      feeds[name] = t;
      fetches[name.replace('_pool_', '_pool_out_')] = null;
    }
  }

  /** The run's written pools become the pools; the ones it read are freed. */
  adopt(out: Readonly<Record<string, ort.Tensor>>): void {
    const pools = this.#pools!;
    for (const name of Object.keys(pools)) {
      const next = out[name.replace('_pool_', '_pool_out_')];
      if (!next) throw new Error(`the step returned no ${name.replace('_pool_', '_pool_out_')}`);
      pools[name]!.dispose();
      pools[name] = next;
    }
  }

  /** Copy-on-write: each copied block, in every pool, from its source block. */
  async copy(copies: readonly BlockCopy[]): Promise<void> {
    if (copies.length === 0) return;
    const src = BigInt64Array.from(copies, (c) => BigInt(c.src));
    const dst = BigInt64Array.from(copies, (c) => BigInt(c.dst));
    const feeds: Record<string, ort.Tensor> = {
      copy_src: new ort.Tensor('int64', src, [src.length]),
      copy_dst: new ort.Tensor('int64', dst, [dst.length]),
    };
    const fetches: Record<string, ort.Tensor | null> = {};
    await this.bind(feeds, fetches);
    this.adopt(await this.#sessions.copy.run(feeds, fetches));
  }

  /** Frees the device buffers; the pool is made again if used after. */
  dispose(): void {
    for (const t of Object.values(this.#pools ?? {})) t.dispose();
    this.#pools = null;
    this.#making = null;
  }

  async #ready(): Promise<Record<string, ort.Tensor>> {
    if (this.#pools) return this.#pools;
    this.#making ??= this.#make();
    await this.#making;
    return this.#pools!;
  }

  async #make(): Promise<void> {
    // The same bytes either way; PagedAttention names the heads' axis.
    const perBlock = poolBlockDims(this.#kvHeads, this.#headDim, this.#sessions.attention);
    const shape = [this.numBlocks, this.blockSize, ...perBlock].map(BigInt);
    const out = await this.#sessions.init.run({
      pool_shape: new ort.Tensor('int64', BigInt64Array.from(shape), [shape.length]),
    });
    const pools: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.#layers; l++)
      for (const side of ['k', 'v']) pools[`${side}_pool_${l}`] = out[`${side}_pool_${l}`]!;
    this.#pools = pools;
  }
}
