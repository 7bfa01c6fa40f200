import { ByteTokenizer, DEFAULT_SAMPLING_PARAMS, Engine, type EngineConfig } from '../engine/index.ts';
import { type LoadedModel, loadModel } from '../model/index.ts';
import { type BatchingConfig, DynamicBatcher, loadTensorModel, type TensorModel } from '../tensor/index.ts';

export type InstanceState = 'loading' | 'warming' | 'ready' | 'draining' | 'stopped';

export interface InstanceOptions {
  modelDir: string;
  kind: 'generative' | 'tensor';
  engine?: Partial<EngineConfig>;
  batching?: BatchingConfig;
  /** In-flight work gets this long after a drain starts. */
  drainTimeoutMs?: number;
}

const DEFAULT_BATCHING: BatchingConfig = { maxBatchSize: 64, preferredBatchSizes: [], maxQueueDelayMs: 2 };

/**
 * One runtime instance: one model, loaded, warmed by a real inference, then ready. Readiness is
 * separate from liveness: a loading or draining instance is alive but takes no new work.
 */
export class RuntimeInstance {
  readonly kind: 'generative' | 'tensor';
  state: InstanceState = 'loading';
  engine: Engine | null = null;
  batcher: DynamicBatcher | null = null;
  readonly tokenizer = new ByteTokenizer();
  #model: LoadedModel | TensorModel | null = null;
  #inFlightTensor = 0;
  readonly #options: InstanceOptions;

  constructor(options: InstanceOptions) {
    this.kind = options.kind;
    this.#options = options;
  }

  get modelName(): string {
    return this.#model?.manifest.name ?? '';
  }

  async start(): Promise<void> {
    if (this.kind === 'generative') {
      const model = await loadModel(this.#options.modelDir, {
        intraOpThreads: this.#options.engine?.intraOpThreads,
      });
      this.#model = model;
      this.engine = new Engine(model, this.#options.engine ?? {});
      this.state = 'warming';
      const r = this.engine.submit({
        prompt: [32],
        params: { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, maxTokens: 2 },
      });
      if (!r.ok) throw new Error(`warm-up refused: ${r.error.message}`);
      for await (const ev of r.events)
        if (ev.type === 'error') throw new Error(`warm-up failed: ${ev.message}`);
    } else {
      const model = await loadTensorModel(this.#options.modelDir);
      this.#model = model;
      this.batcher = new DynamicBatcher(model, this.#options.batching ?? DEFAULT_BATCHING);
      this.state = 'warming';
      const inputs = model.manifest.inputs.map((s) => {
        const shape = s.shape.map((d) => (d < 0 ? 1 : d)); // one row, free dimensions at 1
        return { name: s.name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
      });
      const r = await this.batcher.infer(inputs);
      if (!r.ok) throw new Error(`warm-up failed: ${r.error.message}`);
    }
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

  /** Stops admitting, lets in-flight work finish up to the deadline; true when all of it finished. */
  async drain(): Promise<boolean> {
    if (this.state === 'draining' || this.state === 'stopped') return true;
    this.state = 'draining';
    const deadline = this.#options.drainTimeoutMs ?? 30_000;
    const done = (async () => {
      await this.engine?.drain().catch(() => {});
      while (this.#inFlightTensor > 0) await new Promise((r) => setTimeout(r, 5));
      return true;
    })();
    const timer = new Promise<boolean>((r) => setTimeout(() => r(false), deadline).unref());
    return Promise.race([done, timer]);
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    await this.#model?.release();
  }
}
