import { randomUUID } from 'node:crypto';
import { AdapterMemory, type AdapterMemoryStats, loadPeftAdapter } from '../adapters/index.ts';
import { resolveArchitecture } from '../model/architecture.ts';
import { eosTokenIds, type LoadedModel } from '../model/index.ts';
import { AsyncQueue } from './async-queue.ts';
import { type EngineConfig, engineConfig } from './config.ts';
import type { AdmissionError } from './errors.ts';
import type { GenerationEvent } from './generation-event.ts';
import { KVCacheManager } from './kv/index.ts';
import { RequestState, type RequestTimes } from './request-state.ts';
import { DeviceKVPool } from './runner/device-kv-pool.ts';
import { DeviceModelRunner } from './runner/device-model-runner.ts';
import { KVStore } from './runner/kv-store.ts';
import { ModelRunner, type StepOutput } from './runner/model-runner.ts';
import type { StepEntry } from './runner/step-inputs.ts';
import type { SamplingParams } from './sampling/params.ts';
import { Rng } from './sampling/rng.ts';
import { greedyFromRows, greedyRowSuffices, sample } from './sampling/sampler.ts';
import type { ScheduledSeq, SequenceResources } from './scheduler/scheduler.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { PRIORITY, type Priority, Sequence } from './sequence.ts';
import { type EngineStats, type StepRecord, StepStats } from './step-stats.ts';

export interface GenerateRequest {
  /** Prompt token ids. */
  readonly prompt: readonly number[];
  readonly params: SamplingParams;
  readonly priority?: Priority;
  readonly requestId?: string;
  /** Aborting it (the client left) removes the request at the next step boundary. */
  readonly signal?: AbortSignal;
  /** A LoRA adapter loaded with loadAdapter (by id); none: the base model. */
  readonly adapter?: string;
}

export type SubmitResult =
  | {
      readonly ok: true;
      readonly requestId: string;
      readonly events: AsyncIterable<GenerationEvent>;
      /** Live timestamps of this request, e.g. for tracing its queue, prefill and decode. */
      readonly times: RequestTimes;
    }
  | { readonly ok: false; readonly error: AdmissionError };

export interface EngineAdapterStats extends AdapterMemoryStats {
  /**
   * Where the slot stacks a step reads live: host arrays fed every step (host KV pools: no copy on the
   * CPU; or the device contract's fallback) or held on the device, a slot's rows sent up when written.
   */
  readonly stacks: 'host' | 'device';
  /** Why the device contract feeds the stacks from the host, when it does. */
  readonly stacksFallback?: string;
}

export interface EngineHooks {
  /** Called after every step, e.g. to check KV reference counts as an invariant in tests, or for metrics. */
  readonly onStep?: (engine: Engine, step: Readonly<StepRecord>) => void;
}

/**
 * A runtime instance's inference engine: admission, then a loop of steps. Each step the scheduler
 * forms a batch, the runner executes it on engine.onnx over the paged KV store, and every sequence
 * that reached its end samples one token, which is streamed to its request.
 */
export class Engine {
  readonly model: LoadedModel;
  readonly config: Readonly<EngineConfig>;
  readonly #kv: KVCacheManager;
  /** Host arrays (KVStore) or device buffers (DeviceKVPool, when the model was loaded with deviceKv). */
  readonly #store: KVStore | DeviceKVPool;
  readonly #runner: ModelRunner | DeviceModelRunner;
  readonly #scheduler: Scheduler;
  readonly #requests = new Map<string, RequestState>();
  readonly #aborts = new Set<string>();
  #stalledCancels = 0;
  #peakBufferedEvents = 0;
  readonly #hooks: EngineHooks;
  readonly #stats = new StepStats();
  readonly #eosTokenIds: readonly number[];
  #arrivals = 0;
  #loop: Promise<void> | null = null;
  #draining = false;
  #lastError: unknown = undefined;
  /** The adapter slots, when the model was loaded with `adapters`. */
  readonly #adapters: AdapterMemory | undefined;
  /** Admitted requests per adapter id: an adapter in use is not unloaded. */
  readonly #adapterUsers = new Map<string, number>();
  readonly #requestAdapter = new Map<string, string>();
  /** The slot each running sequence under an adapter holds. */
  readonly #seqSlots = new Map<string, number>();

  /** `kvArena`: pre-committed zeroed memory for the KV cache (see KVStore), used when large enough. */
  constructor(
    model: LoadedModel,
    config: Partial<EngineConfig> = {},
    hooks: EngineHooks = {},
    kvArena?: ArrayBuffer,
  ) {
    this.model = model;
    this.config = engineConfig(config);
    this.#eosTokenIds = eosTokenIds(model.manifest);
    const arch = model.manifest.architecture;
    const device = model.device;
    const bytesPerBlock = device
      ? DeviceKVPool.bytesPerBlock(arch, this.config.blockSize, device)
      : KVStore.bytesPerBlock(arch, this.config.blockSize);
    const numBlocks = Math.max(1, Math.floor(this.config.kvCacheBytes / bytesPerBlock));
    this.#store = device
      ? new DeviceKVPool(arch, this.config, numBlocks, device)
      : new KVStore(arch, this.config, numBlocks, kvArena);
    this.#kv = new KVCacheManager({
      numBlocks: this.#store.numBlocks,
      blockSize: this.config.blockSize,
      modelId: model.modelId,
      enablePrefixCaching: this.config.enablePrefixCaching,
      tileBlocks: this.config.tileBlocks,
    });
    if (model.adapters) this.#adapters = new AdapterMemory(resolveArchitecture(arch), model.adapters);
    const adapters = this.#adapters;
    this.#runner =
      this.#store instanceof DeviceKVPool
        ? new DeviceModelRunner(model, this.#store, adapters ? { adapters } : {})
        : new ModelRunner(model, this.#store, adapters ? { adapters } : {});
    this.#scheduler = new Scheduler(this.config, this.#kv, this.#slotResources());
    this.#hooks = hooks;
  }

  /**
   * Reads and checks a PEFT adapter folder and registers it under `id` (AdapterError if refused); its
   * weights go into a slot when the first request under it is admitted. The engine keeps running.
   */
  async loadAdapter(id: string, dir: string): Promise<void> {
    const memory = this.#adapters;
    if (!memory) throw new Error(`${this.model.manifest.name} was loaded without adapter slots`);
    const adapter = await loadPeftAdapter(
      dir,
      resolveArchitecture(this.model.manifest.architecture),
      memory.spec,
    );
    if (!memory.register(id, adapter)) throw new Error(`adapter ${id} is loaded already: unload it first`);
  }

  /** Unregisters an adapter; false while a request under it is admitted. */
  unloadAdapter(id: string): boolean {
    if (!this.#adapters || (this.#adapterUsers.get(id) ?? 0) > 0) return false;
    return this.#adapters.unregister(id);
  }

  /** Whether adapter `id` is registered (its load finished). */
  adapterLoaded(id: string): boolean {
    return this.#adapters?.has(id) ?? false;
  }

  adapterStats(): EngineAdapterStats | undefined {
    const stats = this.#adapters?.stats();
    if (!stats) return undefined;
    const held = this.#runner instanceof DeviceModelRunner ? this.#runner.adapterStacks : undefined;
    return {
      ...stats,
      stacks: held?.location ?? 'host',
      ...(held?.fallback !== undefined && { stacksFallback: held.fallback }),
    };
  }

  /** Admits a request or refuses it at once; never throws for bad input. */
  submit(req: GenerateRequest): SubmitResult {
    const refused = this.#admissionError(req);
    if (refused) return { ok: false, error: refused };
    const id = req.requestId ?? randomUUID();
    if (this.#requests.has(id)) {
      return {
        ok: false,
        error: {
          code: 'invalid_sampling_params',
          field: 'requestId',
          message: `request id ${id} is already in use`,
        },
      };
    }
    const queue = new AsyncQueue<GenerationEvent>(
      () => this.abort(id),
      this.config.maxBufferedEvents,
      () => {
        this.#stalledCancels += 1;
        this.abort(id);
      },
      (buffered) => {
        if (buffered > this.#peakBufferedEvents) this.#peakBufferedEvents = buffered;
      },
    );
    const state = new RequestState(
      id,
      req.prompt.length,
      req.params,
      this.#eosTokenIds,
      queue,
      this.model.text.tokenizer,
    );
    this.#requests.set(id, state);
    const seq = this.#newSequence(id, 0, req, [...req.prompt], this.#arrivals++);
    state.add(seq);
    if (req.adapter !== undefined) {
      this.#requestAdapter.set(id, req.adapter);
      this.#adapterUsers.set(req.adapter, (this.#adapterUsers.get(req.adapter) ?? 0) + 1);
    }
    this.#scheduler.add(seq);
    if (req.signal) {
      if (req.signal.aborted) this.abort(id);
      else req.signal.addEventListener('abort', () => this.abort(id), { once: true });
    }
    this.#kick();
    return { ok: true, requestId: id, events: queue, times: state };
  }

  /** Requests cancelled because their reader stalled past maxBufferedEvents unread events. */
  get stalledCancels(): number {
    return this.#stalledCancels;
  }

  /** Removes the request at the next step boundary and returns all its blocks. */
  abort(requestId: string): boolean {
    if (!this.#requests.has(requestId)) return false;
    this.#aborts.add(requestId);
    this.#kick();
    return true;
  }

  /** Stops admitting; resolves when every admitted request has finished. */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.idle();
  }

  /** Resolves when the engine has nothing left to do; rejects if a step failed since the last call. */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
    const err = this.#lastError;
    this.#lastError = undefined;
    if (err !== undefined) throw err;
  }

  stats(): EngineStats {
    const kv = this.#kv.stats();
    return this.#stats.snapshot({
      running: this.#scheduler.running.length,
      waiting: this.#scheduler.waiting.length,
      kv,
      kvBytes: this.#store.bytes,
      stalledCancels: this.#stalledCancels,
      peakBufferedEvents: this.#peakBufferedEvents,
    });
  }

  /**
   * KV slots held by running sequences and how many of them hold a token: the waste of the paged
   * cache is allocated minus filled (shared blocks counted once).
   */
  kvOccupancy(): { allocatedSlots: number; filledSlots: number } {
    const bs = this.config.blockSize;
    const filled = new Map<number, number>();
    for (const seq of this.#scheduler.running) {
      const table = this.#kv.blockTable(seq.id);
      table.forEach((block, i) => {
        const n = Math.max(0, Math.min(bs, seq.numComputed - i * bs));
        filled.set(block, Math.max(filled.get(block) ?? 0, n));
      });
    }
    let sum = 0;
    for (const n of filled.values()) sum += n;
    return { allocatedSlots: filled.size * bs, filledSlots: sum };
  }

  /** Reference counts and tables agree, and every KV holder is a live sequence. Throws if not. */
  checkInvariants(): void {
    this.#kv.checkInvariants();
    const live = new Set<string>();
    for (const s of this.#scheduler.running) live.add(s.id);
    for (const s of this.#scheduler.running)
      if (!this.#kv.has(s.id)) throw new Error(`running ${s.id} holds no blocks`);
    for (const s of this.#scheduler.waiting) {
      if (this.#kv.has(s.id)) throw new Error(`waiting ${s.id} still holds blocks`);
    }
    // Every running sequence holds a table (above), so equal counts mean no table outlived its sequence.
    if (this.#kv.numSequences() !== live.size) {
      throw new Error(`${this.#kv.numSequences()} sequences hold KV blocks but ${live.size} are running`);
    }
    if (this.#kv.stats().usedBlocks > 0 && live.size === 0)
      throw new Error('blocks in use with no running sequence');
  }

  #admissionError(req: GenerateRequest): AdmissionError | null {
    const ctx = this.model.manifest.architecture.context_length;
    const vocab = this.model.manifest.architecture.vocab_size;
    const { prompt, params } = req;
    if (this.#draining)
      return {
        code: 'engine_draining',
        message: 'this instance is draining and admits no new requests; retry on another instance',
      };
    if (req.adapter !== undefined && !this.#adapters?.has(req.adapter))
      return {
        code: 'adapter_not_found',
        field: 'adapter',
        message: this.#adapters
          ? `adapter ${req.adapter} is not loaded on this instance: load it first`
          : 'this instance serves no adapters (its model was loaded without adapter slots)',
      };
    if (prompt.length === 0)
      return {
        code: 'empty_prompt',
        field: 'prompt',
        message: 'the prompt is empty: send at least one token',
      };
    const bad = prompt.find((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
    if (bad !== undefined)
      return {
        code: 'invalid_token',
        field: 'prompt',
        message: `token id ${bad} is outside the vocabulary (0..${vocab - 1})`,
      };
    if (!Number.isInteger(params.maxTokens) || params.maxTokens < 1) {
      return {
        code: 'invalid_sampling_params',
        field: 'max_tokens',
        message: `max_tokens must be a positive integer, got ${params.maxTokens}`,
      };
    }
    if (!Number.isInteger(params.n) || params.n < 1 || params.n > this.config.maxN) {
      return {
        code: 'invalid_sampling_params',
        field: 'n',
        message: `n must be between 1 and ${this.config.maxN}, got ${params.n}`,
      };
    }
    const total = prompt.length + params.maxTokens;
    if (total > ctx) {
      return {
        code: 'context_length_exceeded',
        field: 'max_tokens',
        message: `prompt (${prompt.length} tokens) plus max_tokens (${params.maxTokens}) is ${total}, over the model's context of ${ctx} tokens: shorten the prompt or lower max_tokens`,
      };
    }
    if (!this.#kv.canEverFit(total)) {
      return {
        code: 'kv_capacity_exceeded',
        field: 'max_tokens',
        message: `${total} tokens need ${this.#kv.numBlocksNeeded(total)} KV blocks but this instance has ${this.#store.numBlocks}: lower max_tokens or shorten the prompt`,
      };
    }
    if (this.#scheduler.waiting.length >= this.config.maxWaiting) {
      return {
        code: 'queue_full',
        message: `the waiting queue is full (${this.config.maxWaiting} requests): retry later`,
      };
    }
    return null;
  }

  #newSequence(
    requestId: string,
    index: number,
    req: Pick<GenerateRequest, 'params' | 'priority'> & { readonly adapter?: string | null },
    tokens: number[],
    arrival: number,
  ): Sequence {
    const p = req.params;
    const adapter = req.adapter ?? undefined;
    return new Sequence({
      ...(adapter !== undefined && { adapter: { id: adapter, cacheKey: this.#adapters!.cacheKey(adapter) } }),
      requestId,
      index,
      priority: req.priority ?? PRIORITY.interactive,
      arrival,
      params: p,
      rng: p.seed === undefined ? Rng.random() : Rng.fromSeed(p.seed, index),
      tokens,
    });
  }

  #kick(): void {
    if (this.#loop) return;
    this.#loop = this.#run().then(
      () => {
        this.#loop = null;
        if (this.#scheduler.hasWork() || this.#aborts.size) this.#kick();
      },
      (err: unknown) => {
        // Every request admitted so far fails with the error and gives its blocks back; the loop is not
        // restarted from here (a step that fails every time would spin), the next submit() starts one.
        this.#loop = null;
        this.#failAll(err);
        this.#lastError = err;
      },
    );
  }

  async #run(): Promise<void> {
    for (;;) {
      this.#applyAborts();
      if (!this.#scheduler.hasWork()) return;
      const started = performance.now();
      const plan = this.#scheduler.schedule();
      this.#stats.preempted(plan.preempted.length);
      if (plan.scheduled.length === 0) throw new Error('scheduler formed an empty step with work pending');
      for (const s of plan.scheduled) {
        const state = this.#requests.get(s.seq.requestId);
        if (state) state.scheduledAt ??= started;
      }
      const entries: StepEntry[] = plan.scheduled.map((s) => ({
        tokens: s.seq.tokens,
        numComputed: s.seq.numComputed,
        numNew: s.numNew,
        blockTable: this.#kv.blockTable(s.seq.id),
        samples: s.samples,
        // A greedy request's token and logprob come from the device step's greedy row: no logits down.
        wholeLogits: !greedyRowSuffices(s.seq.params),
        adapterSlot: this.#seqSlots.get(s.seq.id) ?? 0,
      }));
      const out = await this.#runner.step(
        entries,
        plan.scheduled.flatMap((s) => s.copies),
      );
      this.#applyAborts(); // a request whose client left during the step gets nothing from it
      let sampled = 0;
      plan.scheduled.forEach((s, i) => {
        if (!this.#requests.has(s.seq.requestId) || !this.#scheduler.computed(s)) return;
        if (out.logitsRow[i]! >= 0 || (out.greedyRow?.[i] ?? -1) >= 0) sampled += this.#sampleInto(s, out, i);
      });
      const step: StepRecord = {
        totalMs: performance.now() - started,
        runMs: out.runMs,
        tokens: out.numTokens,
        seqs: entries.length,
        sampled,
      };
      this.#stats.step(step);
      this.#hooks.onStep?.(this, step);
      await new Promise<void>((r) => setImmediate(r)); // let I/O (new requests, aborts) in between steps
    }
  }

  /** Samples the next token of `s.seq` (and of its n-1 siblings when the prompt just finished). */
  #sampleInto(s: ScheduledSeq, out: StepOutput, entry: number): number {
    const state = this.#requests.get(s.seq.requestId)!;
    const seqs = [s.seq];
    if (s.seq.pendingFork) {
      for (let i = 1; i < s.seq.params.n; i++) {
        const child = this.#newSequence(s.seq.requestId, i, s.seq, [...s.seq.tokens], s.seq.arrival);
        state.add(child);
        seqs.push(child);
      }
      this.#scheduler.fork(s.seq, seqs.slice(1));
    }
    const vocab = this.model.manifest.architecture.vocab_size;
    const ctx = this.model.manifest.architecture.context_length;
    for (const seq of seqs) {
      const row = out.logitsRow[entry]!;
      const r =
        row >= 0
          ? sample(out.logits, row * vocab, vocab, seq.params, seq.rng, state.eosTokenIds)
          : greedyFromRows(out.greedy!, out.greedyRow![entry]!, seq.params.ignoreEos);
      seq.append(r.token);
      const reason = state.onToken(seq, r, ctx);
      if (reason) this.#finish(seq, reason);
    }
    return seqs.length;
  }

  #finish(seq: Sequence, reason: 'stop' | 'length' | 'abort'): void {
    this.#scheduler.finish(seq);
    const state = this.#requests.get(seq.requestId);
    if (!state) return;
    state.finish(seq, reason);
    if (state.done) {
      this.#forget(seq.requestId);
      this.#stats.requestDone();
    }
  }

  #failAll(err: unknown): void {
    const message = `engine step failed: ${err instanceof Error ? err.message : String(err)}`;
    for (const [id, state] of this.#requests) {
      this.#scheduler.abort(id);
      state.fail({ type: 'error', code: 'engine_step_failed', message });
      this.#stats.requestDone();
    }
    for (const id of [...this.#requests.keys()]) this.#forget(id);
    this.#aborts.clear();
  }

  /** The request is over: it leaves the table and stops counting as a user of its adapter. */
  #forget(id: string): void {
    this.#requests.delete(id);
    const adapter = this.#requestAdapter.get(id);
    if (adapter === undefined) return;
    this.#requestAdapter.delete(id);
    const n = (this.#adapterUsers.get(adapter) ?? 1) - 1;
    if (n === 0) this.#adapterUsers.delete(adapter);
    else this.#adapterUsers.set(adapter, n);
  }

  /** Adapter slots as the scheduler takes and returns them: a sequence under an adapter holds its slot while it runs. */
  #slotResources(): SequenceResources | undefined {
    const memory = this.#adapters;
    if (!memory) return undefined;
    return {
      acquire: (seq) => {
        if (seq.adapter === null) return true;
        const slot = memory.acquire(seq.adapter);
        if (slot === null) return false;
        this.#seqSlots.set(seq.id, slot);
        return true;
      },
      release: (seq) => {
        if (seq.adapter === null || !this.#seqSlots.delete(seq.id)) return;
        memory.release(seq.adapter);
      },
    };
  }

  #applyAborts(): void {
    for (const id of this.#aborts) {
      const state = this.#requests.get(id);
      this.#aborts.delete(id);
      if (!state) continue;
      for (const seq of this.#scheduler.abort(id)) state.finish(seq, 'abort');
      state.abortRemaining();
      this.#forget(id);
      this.#stats.requestDone();
    }
  }
}
