import { resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { resolveArchitecture } from './architecture.ts';
import {
  buildDeviceGraphs,
  type ComputeDtype,
  type KvDtype,
  type LoraGraphSpec,
  deviceLoraStackNames,
  GREEDY_ROWS,
  loraStackOut,
  pagedAttentionUnfit,
  type StepAttention,
  weightIndexOfGraph,
} from './graph/index.ts';
import { eosTokenIds, type ModelManifest } from './manifest.ts';
import { decodeModel } from './onnx/index.ts';

/**
 * The sessions of the device-resident KV contract (graph/device-engine.ts): the step, the pools' zeroed
 * start and copy-on-write; with adapters, the slot stacks' zeroed start and slot writes. Built at load from
 * engine.onnx's own weight references, so any model folder runs this way and reads the same weights file.
 */
export interface DeviceSessions {
  readonly step: ort.InferenceSession;
  readonly init: ort.InferenceSession;
  readonly copy: ort.InferenceSession;
  readonly kvDtype: KvDtype;
  /** The step's attention: `paged` writes the pools in place and returns none (graph/paged-attention.ts). */
  readonly attention: StepAttention;
  /** The type the step computes in (graph/device-engine.ts). */
  readonly compute: ComputeDtype;
  /** Where outputs that stay on the device live: 'gpu-buffer' on WebGPU, 'cpu' when the pools are host arrays. */
  readonly poolLocation: 'gpu-buffer' | 'cpu';
  /** How the opening went, ms: the first session (the device opened with it), then the step's (weights uploaded, graph optimized). */
  readonly openMs: { readonly device: number; readonly step: number };
  /** With adapters: the sessions that keep the slot stacks on the device (graph/lora-stacks.ts). */
  readonly loraStacks?: LoraStackSessions;
  /** With adapters, when those sessions could not be opened: why (the step is then fed host arrays). */
  readonly loraStacksUnavailable?: string;
  release(): Promise<void>;
}

export interface LoraStackSessions {
  /** Zeroed stacks, outputs on the device. */
  readonly init: ort.InferenceSession;
  /** A slot's rows scattered into the stacks, which come back on the device. */
  readonly write: ort.InferenceSession;
}

export async function openDeviceSessions(
  dir: string,
  manifest: ModelManifest,
  engineBytes: Uint8Array,
  kvDtype: KvDtype,
  options: ort.InferenceSession.SessionOptions,
  lora?: LoraGraphSpec,
  requested: { attention?: StepAttention; compute?: ComputeDtype } = {},
): Promise<DeviceSessions> {
  const arch = resolveArchitecture(manifest.architecture);
  const { index, location } = weightIndexOfGraph(decodeModel(engineBytes), arch);
  const providers = (options.executionProviders ?? ['cpu']).map((p) => (typeof p === 'string' ? p : p.name));
  const poolLocation = providers[0] === 'webgpu' ? 'gpu-buffer' : 'cpu';
  // PagedAttention has WebGPU and CUDA kernels only, for float16: the CPU (CI's tests) runs the fused step.
  const pagedRuns = poolLocation === 'gpu-buffer' && kvDtype === 'float16' && !pagedAttentionUnfit(arch);
  const attention = requested.attention ?? (pagedRuns ? 'paged' : 'fused');
  // float16 only when asked for, where the step can (paged, no adapters): on an H200 it ran the 0.5 B
  // bench model no faster than float32 and agreed less with the CPU (BENCHMARKS.md).
  const compute: ComputeDtype =
    requested.compute === 'float16' && attention === 'paged' && !lora ? 'float16' : 'float32';
  const graphs = buildDeviceGraphs(
    arch,
    index,
    kvDtype,
    location,
    manifest.name,
    lora,
    attention,
    compute,
    eosTokenIds(manifest),
  );
  const pools: Record<string, 'gpu-buffer' | 'cpu'> = {};
  for (let l = 0; l < arch.n_layer; l++)
    for (const side of ['k', 'v']) {
      pools[`${side}_pool_${l}`] = poolLocation;
      pools[`${side}_pool_out_${l}`] = poolLocation;
    }
  const outputs = (names: (n: string) => boolean) =>
    Object.fromEntries(Object.entries(pools).filter(([n]) => names(n)));
  const extra = options.extra as { session?: Record<string, string> } | undefined;
  const withWeights: ort.InferenceSession.SessionOptions = {
    ...options,
    extra: {
      ...extra,
      // Opened from bytes: the weights file resolves from the model's folder.
      session: { ...extra?.session, model_external_initializers_file_folder_path: resolve(dir) },
    },
  };
  const opened: ort.InferenceSession[] = [];
  const open = async (bytes: Uint8Array, o: ort.InferenceSession.SessionOptions) => {
    const s = await ort.InferenceSession.create(bytes, o);
    opened.push(s);
    return s;
  };
  try {
    // The small pool-init session first: opening the first session on a provider opens its device, so
    // its time is the device's; the step session's is the weights' upload and the graph's optimization.
    // The optimizer would merge the layers' equal ConstantOfShape nodes into one buffer: off here.
    let t = performance.now();
    const init = await open(graphs.init, {
      ...options,
      graphOptimizationLevel: 'disabled',
      preferredOutputLocation: outputs((n) => !n.includes('_out_')),
    });
    const device = performance.now() - t;
    t = performance.now();
    const step = await open(graphs.step, {
      ...withWeights,
      // The paged step writes the pools in place and returns what sampling reads only. The binding
      // takes a run's fetches as all of the outputs when their places are set: the runner fetches all.
      preferredOutputLocation: {
        logits: 'cpu',
        [GREEDY_ROWS]: 'cpu',
        ...(attention === 'fused' && outputs((n) => n.includes('_out_'))),
      },
    });
    const stepMs = performance.now() - t;
    const copy = await open(graphs.copy, {
      ...options,
      preferredOutputLocation: outputs((n) => n.includes('_out_')),
    });
    let loraStacks: LoraStackSessions | undefined;
    let loraStacksUnavailable: string | undefined;
    if (graphs.lora && lora) {
      const names = deviceLoraStackNames(arch, lora);
      const at = (f: (n: string) => string): Record<string, 'gpu-buffer' | 'cpu'> =>
        Object.fromEntries(names.map((n) => [f(n), poolLocation]));
      try {
        loraStacks = {
          // Optimizer off, as for the pools: equal-shaped stacks would be merged into one buffer.
          init: await open(graphs.lora.init, {
            ...options,
            graphOptimizationLevel: 'disabled',
            preferredOutputLocation: at((n) => n),
          }),
          write: await open(graphs.lora.write, { ...options, preferredOutputLocation: at(loraStackOut) }),
        };
      } catch (e) {
        // The step still runs: the runner feeds the host stacks every step instead.
        loraStacksUnavailable = (e as Error).message;
      }
    }
    return {
      step,
      init,
      copy,
      kvDtype,
      attention,
      compute,
      poolLocation,
      openMs: { device, step: stepMs },
      ...(loraStacks && { loraStacks }),
      ...(loraStacksUnavailable !== undefined && { loraStacksUnavailable }),
      release: async () => {
        await Promise.all(opened.map((s) => s.release()));
      },
    };
  } catch (e) {
    await Promise.all(opened.map((s) => s.release()));
    throw e;
  }
}
