import ort from 'onnxruntime-node';
import { type Clock, systemClock } from '../time/clock.ts';
import { type BatchingConfig, takeBatch } from './batch-policy.ts';
import type { TensorModel, TensorSpec } from './tensor-model.ts';

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type InferResult =
  | {
      readonly ok: true;
      readonly outputs: NamedTensor[];
      readonly batchRows: number;
      /** Waited in the queue before its ONNX Runtime call began, ms. */
      readonly queueMs: number;
    }
  | { readonly ok: false; readonly error: { readonly code: 'invalid_tensor'; readonly message: string } };

interface Pending {
  readonly rows: number;
  readonly inputs: Map<string, NamedTensor>;
  readonly arrivedAt: number;
  readonly resolve: (r: InferResult) => void;
  readonly reject: (e: unknown) => void;
}

export interface BatcherHooks {
  /** Called as each ONNX Runtime call begins, with its rows (e.g. for a batch size histogram). */
  readonly onBatch?: (rows: number) => void;
}

/**
 * Triton-style dynamic batching for a tensor function: requests queue, a batch is cut by takeBatch
 * (full, a preferred size, or the oldest waited long enough), stacked along the batch dimension into one
 * ONNX Runtime call, and the outputs split back. One call at a time; the queue fills meanwhile.
 */
export class DynamicBatcher {
  readonly #model: TensorModel;
  readonly #config: BatchingConfig;
  /** Its monotonic time and timers time the queue (a wall-clock step must not stretch a wait). */
  readonly #clock: Clock;
  readonly #hooks: BatcherHooks;
  #queue: Pending[] = [];
  #running = false;
  #timer: unknown = null;
  /** batch rows -> ONNX Runtime calls with that many rows. */
  readonly batchSizes = new Map<number, number>();

  constructor(
    model: TensorModel,
    config: BatchingConfig,
    clock: Clock = systemClock,
    hooks: BatcherHooks = {},
  ) {
    this.#model = model;
    this.#config = config;
    this.#clock = clock;
    this.#hooks = hooks;
  }

  /** Checks the request against the model's inputs first: a bad one is answered at once and joins no batch. */
  infer(inputs: readonly NamedTensor[]): Promise<InferResult> {
    const checked = this.#check(inputs);
    if (typeof checked === 'string')
      return Promise.resolve({ ok: false, error: { code: 'invalid_tensor', message: checked } });
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...checked, arrivedAt: this.#clock.monotonic(), resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#running || this.#queue.length === 0) return;
    const oldest = this.#queue[0]!;
    const n = takeBatch(
      this.#queue.map((p) => p.rows),
      this.#clock.monotonic() - oldest.arrivedAt,
      this.#config,
    );
    if (n === null) {
      if (this.#timer === null) {
        const wait = Math.max(0, oldest.arrivedAt + this.#config.maxQueueDelayMs - this.#clock.monotonic());
        this.#timer = this.#clock.setTimeout(() => {
          this.#timer = null;
          this.#pump();
        }, wait);
      }
      return;
    }
    if (this.#timer !== null) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
    const batch = this.#queue.splice(0, n);
    this.#running = true;
    this.#run(batch).finally(() => {
      this.#running = false;
      this.#pump();
    });
  }

  async #run(batch: Pending[]): Promise<void> {
    const rows = batch.reduce((a, p) => a + p.rows, 0);
    this.batchSizes.set(rows, (this.batchSizes.get(rows) ?? 0) + 1);
    const startedAt = this.#clock.monotonic();
    try {
      this.#hooks.onBatch?.(rows); // inside: a hook that throws fails this batch, it does not hang it
      const feeds: Record<string, ort.Tensor> = {};
      for (const spec of this.#model.manifest.inputs) {
        const parts = batch.map((p) => p.inputs.get(spec.name)!);
        const rowSize = parts[0]!.data.length / batch[0]!.rows;
        const data = new Float32Array(rows * rowSize);
        let at = 0;
        for (const t of parts) {
          data.set(t.data, at);
          at += t.data.length;
        }
        feeds[spec.name] = new ort.Tensor('float32', data, [rows, ...parts[0]!.shape.slice(1)]);
      }
      const out = await this.#model.session.run(feeds);
      let row = 0;
      for (const p of batch) {
        const outputs = this.#model.manifest.outputs.map((spec) => {
          const t = out[spec.name]!;
          const rest = t.dims.slice(1);
          const rowSize = rest.reduce((a, b) => a * b, 1);
          const data = (t.data as Float32Array).slice(row * rowSize, (row + p.rows) * rowSize);
          return { name: spec.name, shape: [p.rows, ...rest], data };
        });
        row += p.rows;
        p.resolve({ ok: true, outputs, batchRows: rows, queueMs: startedAt - p.arrivedAt });
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  #check(inputs: readonly NamedTensor[]): { rows: number; inputs: Map<string, NamedTensor> } | string {
    const specs = this.#model.manifest.inputs;
    const byName = new Map<string, NamedTensor>();
    for (const t of inputs) {
      if (!specs.some((s) => s.name === t.name))
        return `unknown input '${t.name}'; the model takes ${names(specs)}`;
      if (byName.has(t.name)) return `input '${t.name}' is given twice`;
      byName.set(t.name, t);
    }
    let rows = -1;
    for (const s of specs) {
      const t = byName.get(s.name);
      if (!t) return `input '${s.name}' is missing; the model takes ${names(specs)}`;
      const shapeProblem = checkShape(t, s, this.#config.maxBatchSize);
      if (shapeProblem) return shapeProblem;
      if (rows >= 0 && t.shape[0] !== rows)
        return `inputs disagree on the batch dimension (${rows} and ${t.shape[0]})`;
      rows = t.shape[0]!;
    }
    return { rows, inputs: byName };
  }
}

function checkShape(t: NamedTensor, s: TensorSpec, maxBatch: number): string | null {
  const want = `[${s.shape.map((d) => (d < 0 ? 'n' : d)).join(', ')}]`;
  if (
    t.shape.length !== s.shape.length ||
    t.shape.some((d, i) => !Number.isInteger(d) || d < 1 || (s.shape[i]! >= 0 && d !== s.shape[i]))
  ) {
    return `input '${s.name}' has shape [${t.shape.join(', ')}]; the model takes ${want}`;
  }
  if (t.shape[0]! > maxBatch)
    return `input '${s.name}' has ${t.shape[0]} rows; at most ${maxBatch} per request`;
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size)
    return `input '${s.name}' has ${t.data.length} values; shape [${t.shape.join(', ')}] needs ${size}`;
  return null;
}

const names = (specs: readonly TensorSpec[]) => specs.map((s) => `'${s.name}'`).join(', ');
