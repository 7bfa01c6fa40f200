import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { ByteTokenizer, type ChatTemplate, loadModelText, type Tokenizer } from '../engine/text/index.ts';
import { openAdapterEngine } from './adapter-engine.ts';
import { resolveArchitecture } from './architecture.ts';
import { openDeviceSessions, type DeviceSessions } from './device-sessions.ts';
import { graphCachePath, openCached } from './graph-cache.ts';
import {
  ADAPTER_ANY_INPUT,
  LORA_SEGMENT_INPUTS,
  deviceLoraStackNames,
  type KvDtype,
  type LoraGraphSpec,
  loraStackNames,
  type ComputeDtype,
  type StepAttention,
} from './graph/index.ts';
import { checkManifest, type ManifestFile, type ModelManifest } from './manifest.ts';

/** A model refused at load time: `code` is stable, `message` says what is wrong and what to do. */
export class ModelLoadError extends Error {
  readonly code:
    | 'model_not_found'
    | 'model_manifest_invalid'
    | 'model_file_corrupt'
    | 'model_graph_invalid'
    | 'execution_provider_unavailable'
    | 'gpu_unavailable';
  constructor(code: ModelLoadError['code'], message: string) {
    super(message);
    this.name = 'ModelLoadError';
    this.code = code;
  }
}

export interface LoadedModel {
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** Stable identity for prefix-cache keys: name plus the engine graph's and weights' hashes. */
  readonly modelId: string;
  /** engine.onnx over host pools; absent when the KV pool lives on the device (`device`). */
  readonly engine?: ort.InferenceSession;
  /** The device-resident KV contract's sessions, when loaded with `deviceKv`. */
  readonly device?: DeviceSessions;
  /** The adapter slots the step takes (`engine` or `device.step`, loaded with `adapters`); absent: none. */
  readonly adapters?: LoraGraphSpec;
  /** The model's tokenizer and chat template (none for warmgate's byte-level models). */
  readonly text: ModelTextParts;
  release(): Promise<void>;
}

export interface ModelTextParts {
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: ChatTemplate | null;
}

/** The byte tokenizer of warmgate's own models, or the imported model's tokenizer.json and template. */
async function loadText(dir: string, manifest: ModelManifest): Promise<ModelTextParts> {
  if (manifest.tokenizer.type === 'byte') return { tokenizer: new ByteTokenizer(), chatTemplate: null };
  try {
    return await loadModelText(dir);
  } catch (e) {
    throw new ModelLoadError(
      'model_file_corrupt',
      `the tokenizer of ${dir} cannot be read: ${(e as Error).message}`,
    );
  }
}

export interface LoadOptions {
  intraOpThreads?: number;
  /**
   * ONNX Runtime's CPU arena (default on). Turning it off measured worse here: peak resident memory over
   * a benchmark run went from 291 to 341 MB, the allocator's fragmentation costing more than the arena.
   */
  memArena?: boolean;
  /** ONNX Runtime execution providers in preference order (default cpu); see instance/execution-providers.ts. */
  executionProviders?: string[];
  /** Where optimized graphs are kept between loads (see graph-cache.ts); none when unset. */
  graphCacheDir?: string;
  /**
   * Keep the KV pool on the execution provider's device, stored as this type (device-sessions.ts):
   * the step graph is derived from engine.onnx's weights and engine.onnx itself is not opened.
   */
  deviceKv?: KvDtype;
  /**
   * The device step's attention (graph/step-pack.ts). Default: `paged` (ONNX Runtime's PagedAttention,
   * pools written in place) where it runs, on WebGPU with float16 pools and a head size a multiple of
   * 16; `fused` elsewhere. `fused` forces the gathered form (to compare the two).
   */
  deviceAttention?: StepAttention;
  /**
   * The type the device step computes in (graph/device-engine.ts), where the step can: float16 runs
   * with the paged step and no adapters, so elsewhere the step computes in float32 whatever is asked
   * (DeviceSessions.compute says which ran). Default float32: measured on an H200, the float16 step
   * ran no faster and agreed less with the CPU (BENCHMARKS.md).
   */
  deviceCompute?: ComputeDtype;
  /** Options per execution provider, by name (e.g. `{ webgpu: { validationMode: 'wgpuOnly' } }`). */
  providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Write ONNX Runtime's profile of every session (a JSON file per session, named from this prefix). */
  profileFilePrefix?: string;
  /**
   * ONNX Runtime session config entries by their full key, for provider settings the binding's provider
   * options do not carry (e.g. `ep.webgpuexecutionprovider.maxNumPendingDispatches`).
   */
  sessionConfig?: Readonly<Record<string, string>>;
  /**
   * Serve LoRA adapters: the engine graph is rebuilt at load with this many adapter slots of this rank
   * (runtime/adapters/README.md); with `deviceKv`, the device step graph takes them the same way.
   */
  adapters?: LoraGraphSpec;
}

const engineInputs = (layers: number) => [
  'decode_only',
  'input_ids',
  'positions',
  ...Array.from({ length: layers }, (_, l) => [`k_cache_${l}`, `v_cache_${l}`]).flat(),
  'direct_query',
  'direct_owner',
  'direct_mask',
  'direct_seg',
  'token_direct_row',
  'gather_blocks',
  'gather_mask',
  'gather_query',
  'token_gather_row',
  'shared_blocks',
  'shared_mask',
  'shared_query',
  'token_shared_row',
  'new_mask',
  'logits_index',
];
const ENGINE_OUTPUTS = ['logits', 'new_keys', 'new_values'];

export async function readManifest(dir: string): Promise<ModelManifest> {
  let raw: string;
  try {
    raw = await readFile(join(dir, 'model.json'), 'utf8');
  } catch {
    throw new ModelLoadError(
      'model_not_found',
      `no model.json in ${dir}: point the runtime at a folder written by export.py`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new ModelLoadError(
      'model_manifest_invalid',
      `${dir}/model.json is not JSON: ${(e as Error).message}`,
    );
  }
  const check = checkManifest(parsed);
  if (!check.ok) {
    throw new ModelLoadError(
      'model_manifest_invalid',
      `${dir}/model.json is invalid: ${check.problems.join('; ')}`,
    );
  }
  return check.manifest;
}

/** Reads one of the model's files; a missing one is `model_not_found`. */
async function readModelFile(dir: string, role: string, f: ManifestFile): Promise<Buffer> {
  try {
    return await readFile(join(dir, f.path));
  } catch {
    throw new ModelLoadError('model_not_found', `${role} file ${f.path} is missing from ${dir}`);
  }
}

/**
 * Checks bytes against the manifest's sha256. The digest runs on the thread pool (WebCrypto) from the
 * moment this is called: called before ONNX Runtime opens the graph on this thread, the two overlap.
 */
async function checkDigest(role: string, f: ManifestFile, bytes: Buffer): Promise<void> {
  const actual = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
  if (actual !== f.sha256) {
    throw new ModelLoadError(
      'model_file_corrupt',
      `${role} file ${f.path} has sha256 ${actual.slice(0, 12)}…, model.json expects ${f.sha256.slice(0, 12)}…: the file is corrupt or from another export; re-export the model`,
    );
  }
}

/** Reads a model file and checks its sha256; returns its bytes. */
export async function verifyFile(dir: string, role: string, f: ManifestFile): Promise<Buffer> {
  const bytes = await readModelFile(dir, role, f);
  await checkDigest(role, f, bytes);
  return bytes;
}

export function sessionOptions(o: LoadOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: o.intraOpThreads ?? 0,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: o.memArena ?? true,
    // Spinning threads waiting for work took the cores from other sessions in this process (the
    // benchmark's baselines, later several models per instance); measured faster without it.
    extra: { session: { intra_op: { allow_spinning: '0' } }, ...o.sessionConfig },
    executionProviders: (o.executionProviders ?? ['cpu']).map((name) => {
      const options = o.providerOptions?.[name];
      return options === undefined ? name : { ...options, name };
    }),
    ...(o.profileFilePrefix !== undefined && {
      enableProfiling: true,
      profileFilePrefix: o.profileFilePrefix,
    }),
  };
}

/**
 * Checks the files' hashes while ONNX Runtime opens the graph (they run on different threads), and hands
 * out the session only when both match: a corrupt file is reported as corrupt even when ONNX Runtime
 * also refused it. Then checks the graph's inputs and outputs.
 */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const manifest = await readManifest(dir);
  const { weights, engine: graph } = manifest.files;
  // Read first (the reads need this thread between chunks), then the digests run on the thread pool
  // while ONNX Runtime holds this thread opening the graph.
  const [weightBytes, graphBytes] = await Promise.all([
    readModelFile(dir, 'weights', weights),
    readModelFile(dir, 'engine', graph),
  ]);
  const verified = Promise.all([
    checkDigest('weights', weights, weightBytes),
    checkDigest('engine', graph, graphBytes),
  ]);
  verified.catch(() => undefined); // awaited below, on every path
  const text = loadText(dir, manifest);
  text.catch(() => undefined); // awaited below, on every path
  const layers = manifest.architecture.n_layer;
  let engine: ort.InferenceSession | undefined;
  let device: DeviceSessions | undefined;
  try {
    if (options.deviceKv !== undefined) {
      device = await openDeviceSessions(
        dir,
        manifest,
        graphBytes,
        options.deviceKv,
        sessionOptions(options),
        options.adapters,
        { attention: options.deviceAttention, compute: options.deviceCompute },
      ).catch((e: unknown) => {
        throw new ModelLoadError(
          'model_graph_invalid',
          `the device-resident KV graphs of ${dir} could not be opened: ${(e as Error).message}`,
        );
      });
      if (options.adapters)
        await requireInputs(
          device.step,
          deviceLoraStackNames(resolveArchitecture(manifest.architecture), options.adapters),
          device.release,
        );
    } else if (options.adapters !== undefined) {
      engine = await openLoraEngine(dir, manifest, graphBytes, options.adapters, options);
    } else {
      engine = await openGraph(dir, 'engine', manifest, engineInputs(layers), options);
    }
  } catch (e) {
    await verified;
    throw e;
  }
  const release = async () => {
    await engine?.release();
    await device?.release();
  };
  let parts: ModelTextParts;
  try {
    await verified;
    parts = await text;
  } catch (e) {
    await release();
    throw e;
  }
  const modelId = `${manifest.name}@${manifest.files.engine.sha256.slice(0, 16)}:${manifest.files.weights.sha256.slice(0, 16)}`;
  const adapters = options.adapters && Object.freeze({ ...options.adapters });
  return { dir, manifest, modelId, engine, device, adapters, text: parts, release };
}

/** The engine graph with adapter inputs (adapter-engine.ts), checked by name. */
async function openLoraEngine(
  dir: string,
  manifest: ModelManifest,
  graphBytes: Uint8Array,
  spec: LoraGraphSpec,
  options: LoadOptions,
): Promise<ort.InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await openAdapterEngine(dir, manifest, graphBytes, spec, sessionOptions(options));
  } catch (e) {
    throw new ModelLoadError(
      'model_graph_invalid',
      `the adapter engine graph of ${dir} could not be built or opened: ${(e as Error).message}`,
    );
  }
  const inputs = [
    ...engineInputs(manifest.architecture.n_layer),
    ...LORA_SEGMENT_INPUTS,
    ...spec.targets.flatMap((t) => Object.values(loraStackNames(t))),
    ADAPTER_ANY_INPUT,
  ];
  await requireInputs(session, inputs, () => session.release());
  return session;
}

/** Refuses (after `release`) an adapter step session that lacks one of `inputs`. */
async function requireInputs(
  session: ort.InferenceSession,
  inputs: readonly string[],
  release: () => Promise<void>,
): Promise<void> {
  const missing = inputs.filter((n) => !session.inputNames.includes(n));
  if (missing.length) {
    await release();
    throw new ModelLoadError('model_graph_invalid', `the adapter step graph lacks ${missing.join(', ')}`);
  }
}

/** Opens one graph of the paged contract and checks its inputs and outputs by name. */
async function openGraph(
  dir: string,
  role: string,
  manifest: ModelManifest,
  inputs: string[],
  options: LoadOptions,
): Promise<ort.InferenceSession> {
  const f = manifest.files.engine;
  const path = join(dir, f.path);
  let session: ort.InferenceSession;
  try {
    session =
      options.graphCacheDir === undefined
        ? await ort.InferenceSession.create(path, sessionOptions(options))
        : await openCached(
            path,
            graphCachePath(options.graphCacheDir, {
              graphSha256: f.sha256,
              weightsSha256: manifest.files.weights.sha256,
              executionProviders: options.executionProviders ?? ['cpu'],
            }),
            sessionOptions(options),
          );
  } catch (e) {
    throw new ModelLoadError(
      'model_graph_invalid',
      `ONNX Runtime refused ${role} graph ${f.path}: ${(e as Error).message}`,
    );
  }
  const missing = [
    ...inputs.filter((n) => !session.inputNames.includes(n)),
    ...ENGINE_OUTPUTS.filter((n) => !session.outputNames.includes(n)),
  ];
  if (missing.length) {
    await session.release();
    throw new ModelLoadError(
      'model_graph_invalid',
      `${role} graph ${f.path} does not match the paged contract: missing ${missing.join(', ')}`,
    );
  }
  return session;
}
