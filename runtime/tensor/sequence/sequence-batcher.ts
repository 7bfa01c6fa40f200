import { type Clock, systemClock, unrefTimer } from '../../time/clock.ts';
import type { InferResult, NamedTensor } from '../dynamic-batcher.ts';
import type { TensorManifest } from '../tensor-model.ts';
import { requestTensors, type SequenceConfig } from './sequence-config.ts';
import { SequenceStore } from './sequence-store.ts';

/** A request's place in its sequence, as Triton's sequence batcher takes it. */
export interface SequenceRef {
  /** The correlation id. */
  readonly id: string;
  /** Opens the sequence with a zero state (restarts it when already open). */
  readonly start: boolean;
  /** Closes it once this request's step is done. */
  readonly end: boolean;
}

export type SequenceRefusalCode = 'sequence_not_started' | 'sequence_slots_full';

export type SequenceResult =
  | InferResult
  | { readonly ok: false; readonly error: { readonly code: SequenceRefusalCode; readonly message: string } };

/** What the sequence batcher needs of the dynamic batcher: one request in, batched with others. */
export interface RowBatcher {
  infer(inputs: readonly NamedTensor[]): Promise<InferResult>;
}

/**
 * Triton's sequence batcher over the dynamic batcher: each request of a sequence is one row, fed the
 * state its sequence's previous request left (zeros at the start), so requests of different sequences
 * share ONNX Runtime calls with each sequence's state gathered into the batch. A sequence's requests run
 * one after another in arrival order (each needs the state the one before it leaves). The state never
 * leaves the instance: requests send only the other inputs and get only the other outputs.
 */
export class SequenceBatcher {
  readonly #rows: RowBatcher;
  readonly #config: SequenceConfig;
  readonly #clock: Clock;
  readonly #store: SequenceStore;
  /** The state inputs' row shapes ([1, ...fixed]), for a zero start. */
  readonly #stateShapes: ReadonlyMap<string, readonly number[]>;
  /** Per sequence, the end of its last queued request: the next one waits for it. */
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #sweeper: unknown;
  readonly #requestInputs: ReadonlySet<string>;

  constructor(
    rows: RowBatcher,
    manifest: TensorManifest,
    config: SequenceConfig,
    clock: Clock = systemClock,
  ) {
    this.#rows = rows;
    this.#config = config;
    this.#clock = clock;
    this.#store = new SequenceStore(config.idleTimeoutMs, config.maxSequences);
    this.#stateShapes = new Map(
      config.state.map((p) => [
        p.input,
        [1, ...manifest.inputs.find((s) => s.name === p.input)!.shape.slice(1)],
      ]),
    );
    this.#requestInputs = new Set(requestTensors(manifest, config).inputs.map((s) => s.name));
    // Expiry also happens on access; the sweep frees the memory of sequences nobody comes back to.
    const every = Math.max(1000, Math.floor(config.idleTimeoutMs / 2));
    this.#sweeper = unrefTimer(clock.setInterval(() => this.#store.sweep(clock.monotonic()), every));
  }

  /** Sequences open now (for the load report). */
  get open(): number {
    return this.#store.size;
  }

  infer(ref: SequenceRef, inputs: readonly NamedTensor[]): Promise<SequenceResult> {
    const before = this.#tails.get(ref.id);
    const run = before ? before.then(() => this.#step(ref, inputs)) : this.#step(ref, inputs);
    const tail = run.catch(() => {});
    this.#tails.set(ref.id, tail);
    void tail.then(() => {
      if (this.#tails.get(ref.id) === tail) this.#tails.delete(ref.id);
    });
    return run;
  }

  close(): void {
    this.#clock.clearInterval(this.#sweeper);
  }

  async #step(ref: SequenceRef, inputs: readonly NamedTensor[]): Promise<SequenceResult> {
    const refused = this.#checkInputs(inputs);
    if (refused) return { ok: false, error: { code: 'invalid_tensor', message: refused } };
    const now = this.#clock.monotonic();
    let state: ReadonlyMap<string, Float32Array> | null;
    if (ref.start) {
      state = this.#zeroState();
      if (!this.#store.start(ref.id, state, now)) {
        return {
          ok: false,
          error: {
            code: 'sequence_slots_full',
            message: `${this.#config.maxSequences} sequences are open on this instance; none has been idle for ${this.#config.idleTimeoutMs} ms`,
          },
        };
      }
    } else {
      state = this.#store.resume(ref.id, now);
      if (!state) {
        return {
          ok: false,
          error: {
            code: 'sequence_not_started',
            message: `sequence ${ref.id} is not open on this instance: it was never started, it ended, or it was idle over ${this.#config.idleTimeoutMs} ms`,
          },
        };
      }
    }
    const fed = [
      ...inputs,
      ...[...state].map(([name, data]) => ({ name, shape: this.#stateShapes.get(name)!, data })),
    ];
    let r: InferResult;
    try {
      r = await this.#rows.infer(fed);
    } finally {
      // A step that failed leaves the state as it was; one that ended the sequence closes it either way.
      if (ref.end) this.#store.end(ref.id);
    }
    if (!r.ok) return r;
    const kept = new Map<string, Float32Array>();
    for (const p of this.#config.state) kept.set(p.input, r.outputs.find((o) => o.name === p.output)!.data);
    if (!ref.end) this.#store.save(ref.id, kept);
    const stateOutputs = new Set(this.#config.state.map((p) => p.output));
    return { ...r, outputs: r.outputs.filter((o) => !stateOutputs.has(o.name)) };
  }

  /** Sequence requests are one row each and send no state; the dynamic batcher checks the rest. */
  #checkInputs(inputs: readonly NamedTensor[]): string | null {
    for (const t of inputs) {
      if (this.#stateShapes.has(t.name))
        return `input '${t.name}' is the sequence's state, kept by the instance: do not send it`;
      if (!this.#requestInputs.has(t.name)) continue; // unknown: the dynamic batcher names the inputs
      if (t.shape[0] !== 1)
        return `input '${t.name}' has ${t.shape[0]} rows; a sequence's request is one row (one step)`;
    }
    return null;
  }

  #zeroState(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, shape] of this.#stateShapes)
      out.set(name, new Float32Array(shape.reduce((a, b) => a * b, 1)));
    return out;
  }
}
