import ort from 'onnxruntime-node';
import type { AdapterMemory } from '../../adapters/index.ts';
import type { DeviceSessions, LoadedModel } from '../../model/index.ts';
import type { BlockCopy } from '../kv/index.ts';
import { adapterSlotFeed, checkAdapterMemory } from './adapter-feeds.ts';
import { DeviceAdapterStacks } from './device-adapter-stacks.ts';
import { DeviceKVPool } from './device-kv-pool.ts';
import type { StepOutput } from './model-runner.ts';
import { layoutFeeds } from './step-feeds.ts';
import { buildDeviceStepInputs, deviceStepFeeds } from './device-step-inputs.ts';
import { buildStepInputs, type StepEntry, type StepInputs } from './step-inputs.ts';

/**
 * Runs one step of the device-resident contract (graph/device-engine.ts): only the step's layout goes
 * up and only the sampled rows' logits come down; the graph writes the new keys and values into the
 * pools on the device. Every past tile is read through the gathered paths (`inPlace: false`). With
 * adapters, each token's slot goes up too; the slot stacks are held on the device (device-adapter-stacks.ts).
 */
export class DeviceModelRunner {
  readonly #session: ort.InferenceSession;
  readonly #pool: DeviceKVPool;
  readonly #tileView: ort.Tensor;
  readonly #fused: boolean;
  /** The adapter stacks, when the model was loaded with adapter slots. */
  readonly adapterStacks: DeviceAdapterStacks | undefined;

  /** `adapters`: the slot memory a model loaded with adapters reads (required then, refused otherwise). */
  constructor(model: LoadedModel, pool: DeviceKVPool, opts: { adapters?: AdapterMemory } = {}) {
    const device: DeviceSessions | undefined = model.device;
    if (!device)
      throw new Error(`${model.manifest.name} was loaded with host KV pools: run it with ModelRunner`);
    checkAdapterMemory(model, opts.adapters);
    this.#session = device.step;
    this.#pool = pool;
    const a = model.manifest.architecture;
    this.#fused = device.attention === 'fused';
    const view = this.#fused
      ? [-1, pool.blockSize, a.n_kv_head * a.head_dim]
      : [-1, pool.tileSize, a.n_kv_head, a.head_dim];
    this.#tileView = new ort.Tensor('int64', BigInt64Array.from(view.map(BigInt)), [view.length]);
    this.adapterStacks =
      opts.adapters &&
      new DeviceAdapterStacks(opts.adapters.stacks, device.loraStacks, device.loraStacksUnavailable);
  }

  async step(entries: readonly StepEntry[], copies: readonly BlockCopy[]): Promise<StepOutput> {
    await this.#pool.copy(copies);
    let s: { numTokens: number; logitsRow: Int32Array };
    let feeds: Record<string, ort.Tensor>;
    if (this.#fused) {
      const d = buildDeviceStepInputs(entries, this.#pool.blockSize);
      [s, feeds] = [d, deviceStepFeeds(d, this.#tileView)];
    } else {
      const split = buildStepInputs(entries, this.#pool, { inPlace: false });
      [s, feeds] = [split, stepFeeds(split, this.#tileView)];
    }
    if (this.adapterStacks) {
      Object.assign(feeds, adapterSlotFeed(entries, s.numTokens));
      await this.adapterStacks.bind(feeds);
    }
    const fetches: Record<string, ort.Tensor | null> = { logits: null };
    await this.#pool.bind(feeds, fetches);
    const started = performance.now();
    const out = await this.#session.run(feeds, fetches);
    const runMs = performance.now() - started;
    this.#pool.adopt(out);
    return {
      logits: out.logits!.data as Float32Array,
      logitsRow: s.logitsRow,
      runMs,
      numTokens: s.numTokens,
    };
  }
}

function stepFeeds(s: StepInputs, tileView: ort.Tensor): Record<string, ort.Tensor> {
  return {
    ...layoutFeeds(s, Number(tileView.data[1])),
    write_slots: new ort.Tensor(
      'int64',
      BigInt64Array.from(s.slots, (x) => BigInt(x)),
      [s.numTokens],
    ),
    tile_view: tileView,
  };
}
