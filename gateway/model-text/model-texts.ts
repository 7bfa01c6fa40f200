import type { Worker } from 'node:worker_threads';
import type { ModelGate } from '../admission/index.ts';
import type { DeploymentRegistry, DeploymentSpec } from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import type { ClientSignal } from '../http/client-signal.ts';
import type { InstanceTable, ServedTokenizer, UpstreamInstance } from '../instances/index.ts';
import { BYTE_TEXT, type DeploymentText } from './deployment-text.ts';
import { fetchTokenizerFiles } from './fetch-tokenizer-files.ts';
import { startTokenizerWorker } from './start-worker.ts';
import { TokenizerThread } from './tokenizer-thread.ts';

export interface ModelTextsOptions {
  /** Longest fetch of an instance's tokenizer files. Default 30 s. */
  readonly fetchTimeoutMs?: number;
  /**
   * Most tokenizers kept built, each on its own worker thread; past it the least recently used is let
   * go (its worker ends once its requests are answered; a later request builds it again). Default 8.
   */
  readonly maxTokenizers?: number;
  /**
   * Hears each tokenizer worker started, and its build: for metrics (the worker's event-loop
   * utilization) and for tests that end a worker. Adding a 'message' listener would ref the worker.
   */
  readonly onWorker?: (started: StartedTokenizerWorker) => void;
}

export interface StartedTokenizerWorker {
  readonly tokenizerId: string;
  readonly worker: Worker;
  /** The build's time on the worker in ms; rejects when it could not be built or the worker stopped. */
  readonly built: Promise<number>;
}

/** What an instance that names no tokenizer serves (it predates the field). */
const BYTE_TOKENIZER: ServedTokenizer = Object.freeze({ type: 'byte' });

/**
 * Each deployment's text: the tokenizer its instances report in their metadata, and for a Hugging Face
 * model the tokenizer and chat template built from the files GET /tokenizer serves. Built once per
 * tokenizer id and shared by every deployment with that id: concurrent first requests share one fetch,
 * and a fetch that failed is tried again by the next request. Model weights and ONNX Runtime are never
 * loaded: the files are JSON and Jinja.
 *
 * Each tokenizer lives on a worker thread of its own (TokenizerThread), which parses the files, builds
 * it and runs every encode and chat rendering: the event loop only fetches bytes and awaits ids. One
 * worker per tokenizer rather than a shared pool: a built tokenizer cannot be shared between threads,
 * so a pool would build each tokenizer on every worker (its memory and seconds of CPU, times the pool)
 * or route each id to one worker anyway; and a crash stays with one model. At most `maxTokenizers` are
 * kept, the least recently used let go.
 */
export class ModelTexts {
  readonly #registry: InstanceTable;
  readonly #deployments: Pick<DeploymentRegistry, 'get'>;
  readonly #fetchTimeoutMs: number;
  readonly #maxTokenizers: number;
  readonly #onWorker: ModelTextsOptions['onWorker'];
  /** Built (or being fetched and built) by tokenizer id, least recently used first. */
  readonly #byId = new Map<string, TokenizerThread | Promise<TokenizerThread>>();
  /** Every worker not yet ended, let go ones included: close() ends them. */
  readonly #threads = new Set<TokenizerThread>();
  #closed = false;
  /**
   * The tokenizer last reported for each deployment, with the spec it was seen under: while the spec is
   * the same, a deployment scaled to zero is still known, so its requests are checked before they wait.
   */
  readonly #lastSeen = new Map<string, { spec: DeploymentSpec; tokenizer: ServedTokenizer }>();

  constructor(
    registry: InstanceTable,
    deployments: Pick<DeploymentRegistry, 'get'>,
    o: ModelTextsOptions = {},
  ) {
    this.#registry = registry;
    this.#deployments = deployments;
    this.#fetchTimeoutMs = o.fetchTimeoutMs ?? 30_000;
    this.#maxTokenizers = Math.max(1, o.maxTokenizers ?? 8);
    this.#onWorker = o.onWorker;
  }

  /**
   * The deployment's text when it is known and built, at once: a byte model's request costs a scan of
   * its instances and no allocation. Undefined: no instance has reported yet, or the tokenizer is not
   * fetched yet; `load` gets it.
   */
  peek(deployment: string): DeploymentText | undefined {
    const served = this.#servedBy(deployment);
    if (served === undefined) return undefined;
    if (served.type === 'byte') return BYTE_TEXT;
    const text = this.#byId.get(served.id);
    if (text === undefined || text instanceof Promise) return undefined;
    this.#used(served.id, text);
    return text;
  }

  /**
   * The text of the model a ready instance of the deployment serves. While none is ready the request
   * waits in the model's queue (as for an instance to run it; `waitedMs` says how long). A tokenizer not
   * built yet is fetched from that instance and built on a new worker; a failed fetch or build is 503
   * tokenizer_unavailable.
   */
  async load(
    deployment: string,
    gate: ModelGate,
    signal: ClientSignal,
  ): Promise<{ text: DeploymentText; waitedMs: number }> {
    const { value: inst, waitedMs } = await gate.waitFor(() => this.#readyInstance(deployment), signal);
    const served = this.#remember(deployment, inst.metadata?.tokenizer ?? BYTE_TOKENIZER);
    if (served.type === 'byte') return { text: BYTE_TEXT, waitedMs };
    return { text: await this.#hfText(served.id, inst), waitedMs };
  }

  /** The tokenizer of the newest ready instance (in a change of model, the one that stays), else the last seen. */
  #servedBy(deployment: string): ServedTokenizer | undefined {
    const instances = this.#registry.instances(deployment);
    let reported: ServedTokenizer | undefined;
    for (let i = instances.length - 1; i >= 0; i--) {
      const inst = instances[i]!;
      const m = inst.metadata;
      if (m === null) continue;
      if (inst.routable) return this.#remember(deployment, m.tokenizer ?? BYTE_TOKENIZER);
      reported ??= m.tokenizer ?? BYTE_TOKENIZER;
    }
    if (reported !== undefined) return this.#remember(deployment, reported);
    const last = this.#lastSeen.get(deployment);
    return last !== undefined && last.spec === this.#deployments.get(deployment) ? last.tokenizer : undefined;
  }

  #remember(deployment: string, tokenizer: ServedTokenizer): ServedTokenizer {
    const last = this.#lastSeen.get(deployment);
    const spec = this.#deployments.get(deployment);
    if (spec === undefined) this.#lastSeen.delete(deployment);
    else if (last?.tokenizer !== tokenizer || last.spec !== spec)
      this.#lastSeen.set(deployment, { spec, tokenizer });
    return tokenizer;
  }

  #readyInstance(deployment: string): UpstreamInstance | null {
    const instances = this.#registry.instances(deployment);
    for (let i = instances.length - 1; i >= 0; i--) if (instances[i]!.routable) return instances[i]!;
    return null;
  }

  /** Ends every tokenizer worker; requests waiting on one fail with 503. Later builds are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#byId.clear();
    await Promise.all([...this.#threads].map((t) => t.close()));
  }

  /** The built text of `id`, fetched from `inst` and built unless built or being built already. */
  #hfText(id: string, inst: UpstreamInstance): Promise<TokenizerThread> | TokenizerThread {
    const text = this.#byId.get(id);
    if (text instanceof TokenizerThread) this.#used(id, text);
    if (text !== undefined) return text;
    const building = this.#build(id, inst);
    this.#byId.set(id, building);
    building.then(
      (built) => {
        if (this.#byId.get(id) !== building) return;
        this.#used(id, built);
        this.#letGoBeyondBound();
      },
      () => {
        // Forgotten, so that the next request tries again.
        if (this.#byId.get(id) === building) this.#byId.delete(id);
      },
    );
    return building;
  }

  /** Moves `id` to the most recently used end. */
  #used(id: string, text: TokenizerThread): void {
    this.#byId.delete(id);
    this.#byId.set(id, text);
  }

  /** Lets go of the least recently used built tokenizers while more than the bound are kept. */
  #letGoBeyondBound(): void {
    let excess = this.#byId.size - this.#maxTokenizers;
    for (const [id, text] of this.#byId) {
      if (excess <= 0) break;
      // One being built is kept: requests wait on it.
      if (text instanceof Promise) continue;
      this.#byId.delete(id);
      text.retire();
      excess--;
    }
  }

  async #build(id: string, inst: UpstreamInstance): Promise<TokenizerThread> {
    let filesBody;
    try {
      filesBody = await fetchTokenizerFiles(inst, id, this.#fetchTimeoutMs);
    } catch (e) {
      throw new ApiError(
        'tokenizer_unavailable',
        `the gateway could not fetch the model's tokenizer from instance ${inst.id} (${(e as Error).message}): retry`,
        { retryAfter: 1 },
      );
    }
    if (this.#closed) {
      throw new ApiError('tokenizer_unavailable', 'the gateway is shutting down: retry on another replica', {
        retryAfter: 1,
      });
    }
    const worker = startTokenizerWorker({ filesBody });
    const thread = new TokenizerThread(id, worker, (ended) => {
      this.#threads.delete(ended);
      if (this.#byId.get(id) === ended) this.#byId.delete(id);
    });
    this.#threads.add(thread);
    this.#onWorker?.({ tokenizerId: id, worker, built: thread.built });
    try {
      await thread.built;
      return thread;
    } catch (e) {
      // Stopped while building: 503 to retry. Unbuildable files: the model folder is at fault.
      if (e instanceof ApiError) throw e;
      throw new ApiError(
        'tokenizer_unavailable',
        `the tokenizer files instance ${inst.id} serves do not load (${(e as Error).message}): fix the model folder`,
      );
    }
  }
}
