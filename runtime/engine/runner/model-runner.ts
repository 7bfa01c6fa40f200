import ort from 'onnxruntime-node';
import type { AdapterMemory } from '../../adapters/index.ts';
import type { LoadedModel } from '../../model/index.ts';
import { adapterFeeds, checkAdapterMemory } from './adapter-feeds.ts';
import type { BlockCopy } from '../kv/index.ts';
import type { KVStore } from './kv-store.ts';
import { layoutFeeds } from './step-feeds.ts';
import { buildStepInputs, type StepEntry, type StepInputs } from './step-inputs.ts';

export interface StepOutput {
  /** Row-major [rows, vocab]: the sampled rows that came back whole. */
  readonly logits: Float32Array;
  /** Per entry, its row in `logits`, or -1 (it samples nothing this step, or its row stayed on the device). */
  readonly logitsRow: Int32Array;
  /** The device step's: [rows, 2], each sampled row's greedy token and logprob (graph/greedy-rows.ts). */
  readonly greedy?: Float32Array;
  /** Per entry, its row in `greedy`, or -1. */
  readonly greedyRow?: Int32Array;
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

  readonly #inPlace: boolean;
  readonly #adapters: ((entries: readonly StepEntry[], T: number) => Record<string, ort.Tensor>) | undefined;

  /**
   * `inPlace: false` gathers every tile (the naive paged layout): for the benchmark's baseline only.
   * `adapters`: the slot memory a model loaded with adapters reads (required then, refused otherwise).
   */
  constructor(
    model: LoadedModel,
    store: KVStore,
    opts: { inPlace?: boolean; adapters?: AdapterMemory } = {},
  ) {
    this.#inPlace = opts.inPlace ?? true;
    checkAdapterMemory(model, opts.adapters);
    this.#adapters = opts.adapters && adapterFeeds(opts.adapters);
    if (!model.engine)
      throw new Error(
        `${model.manifest.name} was loaded with its KV pool on the device: run it with DeviceModelRunner`,
      );
    this.#session = model.engine;
    this.#store = store;
    const a = model.manifest.architecture;
    this.#kvHeads = a.n_kv_head;
    this.#headDim = a.head_dim;
  }

  /** engine.onnx brings every sampled row back whole, whatever an entry's `wholeLogits`. */
  async step(entries: readonly StepEntry[], copies: readonly BlockCopy[]): Promise<StepOutput> {
    const store = this.#store;
    store.copy(copies);
    const s = buildStepInputs(entries, store, { inPlace: this.#inPlace });
    const feeds = stepFeeds(s, store, this.#kvHeads, this.#headDim);
    if (this.#adapters) Object.assign(feeds, this.#adapters(entries, s.numTokens));
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
function stepFeeds(
  s: StepInputs,
  store: KVStore,
  kvHeads: number,
  headDim: number,
): Record<string, ort.Tensor> {
  const ts = store.tileSize;
  const T = s.numTokens;
  const N = s.poolTiles;
  const i64 = (data: BigInt64Array, dims: number[]) => new ort.Tensor('int64', data, dims);
  const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
  const feeds: Record<string, ort.Tensor> = {
    ...layoutFeeds(s, ts),
    // The graph's If takes its decode-only branch (half the nodes) when every token reads in place.
    decode_only: new ort.Tensor('bool', Uint8Array.of(s.decodeOnly ? 1 : 0), [1]),
    direct_query: i64(s.directQuery, [s.directQuery.length]),
    direct_owner: i64(s.directOwner, [N]),
    direct_mask: f32(s.directMask, [N, 1, 1, ts]),
    direct_seg: f32(s.directSeg, [s.directQuery.length, N]),
    token_direct_row: i64(s.tokenDirectRow, [T]),
  };
  const view = N * store.tileFloats;
  for (let l = 0; l < store.keys.length; l++) {
    feeds[`k_cache_${l}`] = f32(store.keys[l]!.subarray(0, view), [N, kvHeads, headDim, ts]);
    feeds[`v_cache_${l}`] = f32(store.values[l]!.subarray(0, view), [N, kvHeads, ts, headDim]);
  }
  return feeds;
}
