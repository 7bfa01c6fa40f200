import ort from 'onnxruntime-node';
import type { LoadedModel } from '../../model/index.ts';
import type { BlockCopy } from '../kv/index.ts';
import type { KVStore } from './kv-store.ts';
import { buildStepInputs, type StepEntry, type StepInputs } from './step-inputs.ts';

export interface StepOutput {
  /** Row-major [rows, vocab]. */
  readonly logits: Float32Array;
  /** Per entry, its logits row or -1. */
  readonly logitsRow: Int32Array;
  /** Time inside ONNX Runtime's run(), ms: the part of a step that is model, not engine. */
  readonly runMs: number;
  readonly numTokens: number;
}

/** Runs one step of engine.onnx over the KV store and writes the step's keys and values back. */
export class ModelRunner {
  readonly #session: ort.InferenceSession;
  readonly #store: KVStore;
  readonly #kvHeads: number;
  readonly #headDim: number;

  constructor(model: LoadedModel, store: KVStore) {
    this.#session = model.engine;
    this.#store = store;
    const a = model.manifest.architecture;
    this.#kvHeads = a.n_kv_head;
    this.#headDim = a.head_dim;
  }

  async step(entries: readonly StepEntry[], copies: readonly BlockCopy[]): Promise<StepOutput> {
    const store = this.#store;
    store.copy(copies);
    const s = buildStepInputs(entries, store);
    const feeds = stepFeeds(s, store, this.#kvHeads, this.#headDim);
    const started = performance.now();
    const out = await this.#session.run(feeds);
    const runMs = performance.now() - started;
    store.write(out.new_keys!.data as Float32Array, out.new_values!.data as Float32Array, s.slots);
    return {
      logits: out.logits!.data as Float32Array,
      logitsRow: s.logitsRow,
      runMs,
      numTokens: s.numTokens,
    };
  }
}

/** engine.onnx's feeds: the step's layout plus each layer's pool below the highest past tile (no copy). */
export function stepFeeds(
  s: StepInputs,
  store: KVStore,
  kvHeads: number,
  headDim: number,
): Record<string, ort.Tensor> {
  const bs = store.tileSize;
  const T = s.numTokens;
  const N = s.poolTiles;
  const [S, MB, QM] = s.gatherShape;
  const i64 = (data: BigInt64Array, dims: number[]) => new ort.Tensor('int64', data, dims);
  const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(s.inputIds, [T]),
    positions: i64(s.positions, [T]),
    direct_query: i64(s.directQuery, [s.directQuery.length]),
    direct_owner: i64(s.directOwner, [N]),
    direct_mask: f32(s.directMask, [N, 1, 1, bs]),
    direct_seg: f32(s.directSeg, [s.directQuery.length, N]),
    token_direct_row: i64(s.tokenDirectRow, [T]),
    gather_blocks: i64(s.gatherBlocks, [S, MB]),
    gather_mask: f32(s.gatherMask, [S, 1, 1, MB * bs]),
    gather_query: i64(s.gatherQuery, [S, QM]),
    token_gather_row: i64(s.tokenGatherRow, [T]),
    new_mask: f32(s.newMask, [T, T]),
    logits_index: i64(s.logitsIndex, [s.logitsIndex.length]),
  };
  const view = N * store.tileFloats;
  for (let l = 0; l < store.keys.length; l++) {
    feeds[`k_cache_${l}`] = f32(store.keys[l]!.subarray(0, view), [N, kvHeads, headDim, bs]);
    feeds[`v_cache_${l}`] = f32(store.values[l]!.subarray(0, view), [N, kvHeads, bs, headDim]);
  }
  return feeds;
}
