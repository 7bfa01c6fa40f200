import { modelTextFrom } from '../../runtime/engine/api.ts';
import type { ModelGate } from '../admission/index.ts';
import type { DeploymentRegistry, DeploymentSpec } from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import type { ClientSignal } from '../http/client-signal.ts';
import type { InstanceTable, ServedTokenizer, UpstreamInstance } from '../instances/index.ts';
import { BYTE_TEXT, type DeploymentText, type HfText } from './deployment-text.ts';
import { fetchTokenizerFiles } from './fetch-tokenizer-files.ts';

export interface ModelTextsOptions {
  /** Longest fetch of an instance's tokenizer files. Default 30 s. */
  readonly fetchTimeoutMs?: number;
}

/** What an instance that names no tokenizer serves (it predates the field). */
const BYTE_TOKENIZER: ServedTokenizer = Object.freeze({ type: 'byte' });

/**
 * Each deployment's text: the tokenizer its instances report in their metadata, and for a Hugging Face
 * model the tokenizer and chat template built from the files GET /tokenizer serves. Built once per
 * tokenizer id and shared by every deployment with that id: concurrent first requests share one fetch,
 * and a fetch that failed is tried again by the next request. Model weights and ONNX Runtime are never
 * loaded: the files are JSON and Jinja.
 */
export class ModelTexts {
  readonly #registry: InstanceTable;
  readonly #deployments: Pick<DeploymentRegistry, 'get'>;
  readonly #fetchTimeoutMs: number;
  /** Built (or being fetched) by tokenizer id. */
  readonly #byId = new Map<string, HfText | Promise<HfText>>();
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
    return text instanceof Promise ? undefined : text;
  }

  /**
   * The text of the model a ready instance of the deployment serves. While none is ready the request
   * waits in the model's queue (as for an instance to run it; `waitedMs` says how long). A tokenizer not
   * built yet is fetched from that instance; a failed fetch is 503 tokenizer_unavailable.
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

  /** The built text of `id`, fetched from `inst` unless built or being fetched already. */
  #hfText(id: string, inst: UpstreamInstance): Promise<HfText> | HfText {
    let text = this.#byId.get(id);
    if (text === undefined) {
      const fetching = this.#build(id, inst);
      text = fetching;
      this.#byId.set(id, fetching);
      fetching.then(
        (built) => this.#byId.set(id, built),
        () => {
          // Forgotten, so that the next request tries again.
          if (this.#byId.get(id) === fetching) this.#byId.delete(id);
        },
      );
    }
    return text;
  }

  async #build(id: string, inst: UpstreamInstance): Promise<HfText> {
    let files;
    try {
      files = await fetchTokenizerFiles(inst, id, this.#fetchTimeoutMs);
    } catch (e) {
      throw new ApiError(
        'tokenizer_unavailable',
        `the gateway could not fetch the model's tokenizer from instance ${inst.id} (${(e as Error).message}): retry`,
        { retryAfter: 1 },
      );
    }
    try {
      const { tokenizer, chatTemplate } = modelTextFrom(files);
      return { type: 'huggingface', id, tokenizer, chatTemplate };
    } catch (e) {
      throw new ApiError(
        'tokenizer_unavailable',
        `the tokenizer files instance ${inst.id} serves do not load (${(e as Error).message}): fix the model folder`,
      );
    }
  }
}
