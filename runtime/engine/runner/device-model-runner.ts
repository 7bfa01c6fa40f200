import ort from 'onnxruntime-node';
import type { AdapterMemory } from '../../adapters/index.ts';
import { resolveArchitecture } from '../../model/architecture.ts';
import { deviceLoraStacks, GREEDY_ROWS } from '../../model/graph/index.ts';
import type { DeviceSessions, LoadedModel } from '../../model/index.ts';
import type { BlockCopy } from '../kv/index.ts';
import { checkAdapterMemory, tokenSlots } from './adapter-feeds.ts';
import { DeviceAdapterStacks } from './device-adapter-stacks.ts';
import { DeviceKVPool } from './device-kv-pool.ts';
import { buildDeviceStepInputs, deviceStepFeeds } from './device-step-inputs.ts';
import { buildPagedStepInputs, pagedStepFeeds } from './paged-step-inputs.ts';
import type { StepOutput } from './model-runner.ts';
import type { StepEntry } from './step-inputs.ts';

/**
 * Runs one step of the device-resident contract (graph/device-engine.ts): only the step's layout goes
 * up and only what sampling needs comes down (each sampled row's greedy token and logprob, and the
 * logits of the rows that need more: sampled-rows.ts); the graph writes the new keys and values into the
 * pools on the device, then each sequence reads its blocks (device-step-inputs.ts; with PagedAttention,
 * through its block table, paged-step-inputs.ts). With adapters, each
 * token's slot goes up too (in the step's pack); the slot stacks are held on the device
 * (device-adapter-stacks.ts).
 */
export class DeviceModelRunner {
  readonly #session: ort.InferenceSession;
  readonly #pool: DeviceKVPool;
  readonly #paged: boolean;
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
    this.#paged = device.attention === 'paged';
    const bs = pool.blockSize;
    if (this.#paged && (bs < 16 || (bs & (bs - 1)) !== 0))
      throw new Error(
        `block size ${bs}: PagedAttention takes a power of two of 16 or more; ` +
          `set blockSize to 16 or load the model with deviceAttention 'fused'`,
      );
    const a = model.manifest.architecture;
    this.adapterStacks =
      opts.adapters &&
      new DeviceAdapterStacks(
        opts.adapters.stacks,
        deviceLoraStacks(resolveArchitecture(a), model.adapters!),
        device.loraStacks,
        device.loraStacksUnavailable,
      );
  }

  async step(entries: readonly StepEntry[], copies: readonly BlockCopy[]): Promise<StepOutput> {
    await this.#pool.copy(copies);
    const blockSize = this.#pool.blockSize;
    // The paged step writes the pools in place and returns none; the fused one returns them written.
    const paged = this.#paged;
    const s = paged ? buildPagedStepInputs(entries, blockSize) : buildDeviceStepInputs(entries, blockSize);
    const slots = this.adapterStacks && tokenSlots(entries, s.numTokens);
    const feeds = 'seqStarts' in s ? pagedStepFeeds(s, slots) : deviceStepFeeds(s, blockSize, slots);
    if (this.adapterStacks) await this.adapterStacks.bind(feeds);
    const fetches: Record<string, ort.Tensor | null> = { logits: null, [GREEDY_ROWS]: null };
    if (paged) await this.#pool.feedInPlace(feeds);
    else await this.#pool.bind(feeds, fetches);
    const started = performance.now();
    const out = await this.#session.run(feeds, fetches);
    const runMs = performance.now() - started;
    if (!paged) this.#pool.adopt(out);
    return {
      logits: out.logits!.data as Float32Array,
      logitsRow: s.logitsRow,
      greedy: out[GREEDY_ROWS]!.data as Float32Array,
      greedyRow: s.greedyRow,
      runMs,
      numTokens: s.numTokens,
    };
  }
}
