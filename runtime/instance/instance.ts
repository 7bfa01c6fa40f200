import ort from 'onnxruntime-node';
import { InstanceAdapters } from './instance-adapters.ts';
import type { ComputeDtype, LoraGraphSpec, StepAttention } from '../model/graph/index.ts';
import {
  ByteTokenizer,
  DEFAULT_SAMPLING_PARAMS,
  Engine,
  type EngineConfig,
  type Tokenizer,
} from '../engine/index.ts';
import { type KvDtype, type LoadedModel, loadModel, ModelLoadError } from '../model/index.ts';
import {
  type BatchingConfig,
  DynamicBatcher,
  loadTensorModel,
  SequenceBatcher,
  type SequenceConfig,
  sequenceConfigProblem,
  type TensorModel,
} from '../tensor/index.ts';
import { createTelemetry, type Telemetry } from '../telemetry/index.ts';
import { type Clock, systemClock, unrefTimer } from '../time/clock.ts';
import { availableExecutionProviders } from './detect-providers.ts';
import { chooseExecutionProviders, onDevice } from './execution-providers.ts';
import { type HostGpu, selectGpu } from './gpu-select.ts';
import { RuntimeMetrics } from './metrics.ts';
import { type TokenizerServing, tokenizerServing } from './served-tokenizer.ts';

export type InstanceState = 'loading' | 'warming' | 'ready' | 'draining' | 'stopped';

export interface InstanceOptions {
  modelDir: string;
  kind: 'generative' | 'tensor';
  engine?: Partial<EngineConfig>;
  batching?: BatchingConfig;
  /** In-flight work gets this long after a drain starts. */
  drainTimeoutMs?: number;
  /** ONNX Runtime execution providers in preference order (cpu, cuda, tensorrt); default cpu. */
  executionProviders?: string[];
  /** Refuse to start when a requested provider is missing, rather than fall back with a warning. */
  requireExecutionProvider?: boolean;
  /** On webgpu, the host's GPU to run on (gpu-select.ts: PCI bus order); default the first Vulkan lists. */
  gpu?: number;
  /** A GPU provider keeps the KV pool on the device, stored as this (default float32). */
  kvDtype?: KvDtype;
  /**
   * Where the KV pool lives; default on the device on webgpu, host arrays otherwise. `device` on the CPU
   * runs the device-resident contract there (as CI tests it), adapters included.
   */
  kv?: 'host' | 'device';
  /** Spans and metrics go here; without it the instance keeps its own, for /metrics only. */
  telemetry?: Telemetry;
  /** Where optimized graphs are kept between starts (runtime/model/graph-cache.ts). */
  graphCacheDir?: string;
  /** Serve LoRA adapters in this many slots of this rank (runtime/adapters/README.md); none: base only. */
  adapters?: LoraGraphSpec;
  /** Zeroed memory committed ahead for the KV cache (a standby's), used when large enough. */
  kvArena?: ArrayBuffer;
  /** Where start-up warnings go (default console.warn). */
  warn?: (message: string) => void;
  /** A stateful tensor model: its state pairs, kept per sequence (runtime/tensor/sequence/). */
  sequence?: SequenceConfig;
  /** Times the tensor batcher's queue and the drain deadline. Default systemClock. */
  clock?: Clock;
}

const BYTE_TOKENIZER = new ByteTokenizer();

/**
 * How long start() took, by phase, ms: opening the model (`load`: files read and checked, ONNX Runtime's
 * sessions made; on a GPU split into `device`, the first session, which opens the device, and `weights`,
 * the step session's, which uploads the weights and optimizes the graph) and the warm-up inference
 * (`warmUp`: on a GPU the shaders compiled, the KV pool made). The process's own start is the provider's to see.
 */
export interface StartPhases {
  readonly load: number;
  readonly device?: number;
  readonly weights?: number;
  readonly warmUp: number;
}

const DEFAULT_BATCHING: BatchingConfig = { maxBatchSize: 64, preferredBatchSizes: [], maxQueueDelayMs: 2 };

/** Where a generative model's KV pool lives; on the device, its dtype, the step's attention and compute type. */
export type KvPoolReport =
  | { readonly place: 'host' }
  | {
      readonly place: 'device';
      readonly dtype: KvDtype;
      readonly attention: StepAttention;
      readonly compute: ComputeDtype;
    };

/**
 * One runtime instance: one model, loaded, warmed by a real inference, then ready. Readiness is
 * separate from liveness: a loading or draining instance is alive but takes no new work.
 */
export class RuntimeInstance {
  readonly kind: 'generative' | 'tensor';
  state: InstanceState = 'loading';
  engine: Engine | null = null;
  /** The LoRA adapters requests named, loaded once each (empty unless started with adapter slots). */
  readonly adapters = new InstanceAdapters(() => this.engine!);
  batcher: DynamicBatcher | null = null;
  /** A stateful tensor model's sequence batcher (over `batcher`); null for a stateless one. */
  sequences: SequenceBatcher | null = null;
  readonly telemetry: Telemetry;
  readonly metrics: RuntimeMetrics;
  /** The provider the model was opened with; null until start() chose it. */
  executionProvider: string | null = null;
  /** The GPU it was pinned to (`gpu`), once the model is open on webgpu; null otherwise. */
  gpu: HostGpu | null = null;
  /** A generative model's KV pool once loaded (load-report.ts): on the host, or on the device and how. */
  kvPool: KvPoolReport | undefined = undefined;
  /** start()'s phases, once ready. */
  startPhases: StartPhases | null = null;
  /** The generative model's tokenizer as GET /metadata and GET /tokenizer tell it; null until loaded. */
  servedTokenizer: TokenizerServing | null = null;
  #model: LoadedModel | TensorModel | null = null;
  #inFlightTensor = 0;
  #inFlightGenerate = 0;
  readonly #ownsTelemetry: boolean;
  readonly #options: InstanceOptions;
  readonly #clock: Clock;

  /** The served model's tokenizer (the byte tokenizer until a generative model is loaded). */
  get tokenizer(): Tokenizer {
    return this.engine?.model.text.tokenizer ?? BYTE_TOKENIZER;
  }

  constructor(options: InstanceOptions) {
    this.kind = options.kind;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#ownsTelemetry = !options.telemetry;
    this.telemetry = options.telemetry ?? createTelemetry({ serviceName: 'warmgate-runtime' });
    this.metrics = new RuntimeMetrics(this.telemetry.meter);
    this.metrics.observeEngine(
      () => this.modelName,
      () => this.engine?.stats() ?? null,
    );
    this.metrics.observeInfo(
      () => this.modelName,
      () => this.executionProvider,
      () => this.gpu?.index ?? null,
    );
    this.metrics.observeStartPhases(
      () => this.modelName,
      () => this.startPhases as Record<string, number> | null,
    );
  }

  get modelName(): string {
    return this.#model?.manifest.name ?? '';
  }

  /** The stateful tensor model's state pairs and limits, as started (undefined: stateless). */
  get sequenceConfig(): SequenceConfig | undefined {
    return this.#options.sequence;
  }

  /** The tensor model's declared inputs and outputs (null for a generative model or while loading). */
  get tensorManifest(): TensorModel['manifest'] | null {
    return this.kind === 'tensor' && this.#model ? (this.#model as TensorModel).manifest : null;
  }

  get batching(): BatchingConfig {
    return this.#options.batching ?? DEFAULT_BATCHING;
  }

  /** Requests in flight: generations being streamed and tensor requests. */
  get outstanding(): number {
    return this.#inFlightGenerate + this.#inFlightTensor;
  }

  /** Whether the KV pool (and adapter slot stacks) live on the device: `kv`, or by default on webgpu. */
  #kvOnDevice(providers: readonly string[]): boolean {
    return (this.#options.kv ?? (onDevice(providers) ? 'device' : 'host')) === 'device';
  }

  /** Throws ModelLoadError when the model (or a required execution provider) cannot be had. */
  async start(): Promise<void> {
    const chosen = this.#chooseProviders();
    const gpu = this.#pinGpu(chosen);
    const started = performance.now();
    let loaded: number;
    let openMs: { device: number; step: number } | undefined;
    if (this.kind === 'generative') {
      const { value: model, providers } = await this.#openOnProviders(chosen, (executionProviders) =>
        loadModel(this.#options.modelDir, {
          intraOpThreads: this.#options.engine?.intraOpThreads,
          executionProviders,
          // On a GPU the KV pool stays on the device; copied to and from the host every step it cost
          // 4-24x the CPU's time (BENCHMARKS.md).
          ...(this.#kvOnDevice(executionProviders) && { deviceKv: this.#options.kvDtype ?? 'float32' }),
          ...(this.#options.graphCacheDir !== undefined && { graphCacheDir: this.#options.graphCacheDir }),
          ...(this.#options.adapters !== undefined && { adapters: this.#options.adapters }),
        }),
      );
      this.#model = model;
      this.executionProvider = providers[0]!;
      this.gpu = providers[0] === 'webgpu' ? gpu : null;
      this.kvPool = model.device
        ? {
            place: 'device',
            dtype: model.device.kvDtype,
            attention: model.device.attention,
            compute: model.device.compute,
          }
        : { place: 'host' };
      this.servedTokenizer = await tokenizerServing(model);
      loaded = performance.now();
      openMs = model.device?.openMs;
      this.engine = new Engine(
        model,
        this.#options.engine ?? {},
        { onStep: (_, step) => this.metrics.batch(this.modelName, step.seqs, step.sampled) },
        this.#options.kvArena,
      );
      this.state = 'warming';
      const r = this.engine.submit({
        prompt: [32],
        params: { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, maxTokens: 2 },
      });
      if (!r.ok) throw new Error(`warm-up refused: ${r.error.message}`);
      for await (const ev of r.events)
        if (ev.type === 'error') throw new Error(`warm-up failed: ${ev.message}`);
    } else {
      const { value: model, providers } = await this.#openOnProviders(chosen, (executionProviders) =>
        loadTensorModel(this.#options.modelDir, this.#options.engine?.intraOpThreads, executionProviders),
      );
      this.#model = model;
      this.executionProvider = providers[0]!;
      this.gpu = providers[0] === 'webgpu' ? gpu : null;
      loaded = performance.now();
      const seq = this.#options.sequence;
      const problem = seq ? sequenceConfigProblem(model.manifest, seq) : null;
      if (problem) await model.release();
      if (problem) throw new ModelLoadError('model_graph_invalid', `--sequence-state: ${problem}`);
      this.batcher = new DynamicBatcher(model, this.#options.batching ?? DEFAULT_BATCHING, this.#clock, {
        onBatch: (rows) => this.metrics.batch(this.modelName, rows),
      });
      if (seq) this.sequences = new SequenceBatcher(this.batcher, model.manifest, seq, this.#clock);
      this.state = 'warming';
      // Straight to the session: through the batcher a lone row would wait out the queue delay.
      const feeds = Object.fromEntries(
        model.manifest.inputs.map((s) => {
          const shape = s.shape.map((d) => (d < 0 ? 1 : d)); // one row, free dimensions at 1
          return [
            s.name,
            new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape),
          ];
        }),
      );
      await model.session.run(feeds);
    }
    this.startPhases = {
      load: loaded - started,
      ...(openMs && { device: openMs.device, weights: openMs.step }),
      warmUp: performance.now() - loaded,
    };
    this.state = 'ready';
  }

  /** Counts a tensor request in flight for the drain. */
  async trackTensor<T>(work: () => Promise<T>): Promise<T> {
    this.#inFlightTensor++;
    try {
      return await work();
    } finally {
      this.#inFlightTensor--;
    }
  }

  /** Counts a generation in flight (for the load report) while its stream is written. */
  async trackGenerate<T>(work: () => Promise<T>): Promise<T> {
    this.#inFlightGenerate++;
    try {
      return await work();
    } finally {
      this.#inFlightGenerate--;
    }
  }

  /** Stops admitting, lets in-flight work finish up to the deadline; true when all of it finished. */
  async drain(): Promise<boolean> {
    if (this.state === 'draining' || this.state === 'stopped') return true;
    this.state = 'draining';
    const deadline = this.#options.drainTimeoutMs ?? 30_000;
    const clock = this.#clock;
    const done = (async () => {
      await this.engine?.drain().catch(() => {});
      while (this.#inFlightTensor > 0) await new Promise<void>((r) => clock.setTimeout(r, 5));
      return true;
    })();
    const timer = new Promise<boolean>((r) => unrefTimer(clock.setTimeout(() => r(false), deadline)));
    return Promise.race([done, timer]);
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.metrics.close();
    this.sequences?.close();
    try {
      await this.#model?.release();
    } finally {
      if (this.#ownsTelemetry) await this.telemetry.shutdown();
    }
  }

  #chooseProviders(): readonly string[] {
    const choice = chooseExecutionProviders(
      this.#options.executionProviders ?? [],
      availableExecutionProviders(),
      this.#options.requireExecutionProvider ?? false,
    );
    if (!choice.ok) throw new ModelLoadError(choice.code, choice.message);
    for (const w of choice.warnings) this.#warn(w);
    return choice.providers;
  }

  /**
   * Pins this process to the GPU asked for before WebGPU opens a device (Vulkan reads the selection when
   * the provider's first session makes its instance). Only for webgpu; a GPU that is not there, or one
   * that cannot be told apart from the others, is refused rather than served from another.
   */
  #pinGpu(providers: readonly string[]): HostGpu | null {
    const index = this.#options.gpu;
    if (index === undefined || providers[0] !== 'webgpu') return null;
    const sel = selectGpu(index, process.env);
    if (!sel.ok) throw new ModelLoadError(sel.code, sel.message);
    Object.assign(process.env, sel.env);
    return sel.gpu;
  }

  /**
   * Opens the model on `providers`. A GPU provider can be built into ONNX Runtime and still have no device
   * (WebGPU finds no adapter without the Vulkan loader and the driver's ICD): when opening fails with one
   * first and succeeds on the CPU, the provider was the problem. Required, that is
   * execution_provider_unavailable with ONNX Runtime's reason; else a warning and the CPU.
   */
  async #openOnProviders<T>(
    providers: readonly string[],
    open: (providers: string[]) => Promise<T>,
  ): Promise<{ value: T; providers: readonly string[] }> {
    try {
      return { value: await open([...providers]), providers };
    } catch (e) {
      const gpu = providers[0]!;
      if (gpu === 'cpu' || !(e instanceof ModelLoadError) || e.code !== 'model_graph_invalid') throw e;
      const value = await open(['cpu']); // throws what the model itself has against the CPU
      const reason = `execution provider ${gpu} could not open the model: ${e.message}`;
      const hint =
        gpu === 'webgpu'
          ? ' (WebGPU needs a GPU adapter: the Vulkan loader libvulkan1, the GPU driver with its Vulkan ICD, and in a container NVIDIA_DRIVER_CAPABILITIES including graphics)'
          : '';
      if (this.#options.requireExecutionProvider) {
        if ('release' in (value as object)) await (value as { release(): Promise<void> }).release();
        throw new ModelLoadError('execution_provider_unavailable', `${reason}${hint}; it is required`);
      }
      this.#warn(`${reason}${hint}; serving from the CPU`);
      return { value, providers: ['cpu'] };
    }
  }

  #warn(message: string): void {
    (this.#options.warn ?? console.warn)(message);
  }
}
