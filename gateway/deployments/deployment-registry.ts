import type { ValidateFunction } from 'ajv';
import { ApiError } from '../errors/index.ts';
import { checkInput, InputSchemas, type InputCheck } from './input-schema.ts';
import { checkPipelineRelations } from './pipeline-relations.ts';
import type { DeploymentSpec } from './spec.ts';
import { byName, type DeploymentStore } from './store.ts';

export interface DeploymentChange {
  type: 'put' | 'delete';
  /** The deployment as it now is ('put') or as it was ('delete'). */
  spec: DeploymentSpec;
}

export type DeploymentListener = (change: DeploymentChange) => void;

export interface DeploymentRegistryOptions {
  /** Where a listener's exception and a stored deployment that cannot be served are reported. */
  log?: (message: string, error: unknown) => void;
}

interface Entry {
  readonly spec: DeploymentSpec;
  /** The input schema compiled when the deployment was put; null when it has none. */
  readonly validate: ValidateFunction | null;
}

/**
 * This process's deployments: loaded from the store at start, then served from memory (reads never touch
 * the store). A write goes to the store first and reaches memory only if the store took it, so a failed
 * write changes nothing here. Writes run one at a time, so memory and store see them in the same order.
 * Specs handed in must have passed checkDeployment (the admin API and the stores check them); the
 * registry keeps frozen copies.
 */
export class DeploymentRegistry {
  readonly #store: DeploymentStore;
  readonly #log: (message: string, error: unknown) => void;
  readonly #schemas = new InputSchemas();
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<DeploymentListener>();
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(store: DeploymentStore, options: DeploymentRegistryOptions) {
    this.#store = store;
    this.#log = options.log ?? ((message, error) => console.error(message, error));
  }

  /** Loads every deployment from the store. The store stays the caller's to close. */
  static async open(
    store: DeploymentStore,
    options: DeploymentRegistryOptions = {},
  ): Promise<DeploymentRegistry> {
    const registry = new DeploymentRegistry(store, options);
    for (const spec of await store.list()) {
      try {
        registry.#entries.set(spec.name, registry.#entry(spec));
      } catch (e) {
        registry.#log(`deployments: not serving '${spec.name}' from the store`, e);
      }
    }
    return registry;
  }

  get(name: string): DeploymentSpec | undefined {
    return this.#entries.get(name)?.spec;
  }

  /** Every deployment, sorted by name. */
  list(): DeploymentSpec[] {
    return [...this.#entries.values()].map((e) => e.spec).sort(byName);
  }

  /** Checks a function-style body against the deployment's input schema, compiled when it was put. */
  validateInput(name: string, body: unknown): InputCheck {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      return { ok: false, error: new ApiError('deployment_not_found', `no deployment named '${name}'`) };
    }
    return entry.validate === null ? { ok: true } : checkInput(entry.validate, body);
  }

  /** Creates or replaces. Throws deployment_invalid (input schema) or admin_store_unavailable. */
  put(spec: DeploymentSpec): Promise<{ created: boolean }> {
    return this.#serial(async () => ({ created: await this.#put(spec) }));
  }

  /**
   * Replaces a deployment with `change(current)`, current being what the store holds as the write is
   * made: two gateways rolling out, promoting or rolling back at once each apply their change to the
   * other's result instead of the last write winning. `change` returning its argument writes nothing.
   * Throws deployment_not_found, deployment_conflict (others kept writing), what `change` throws, or
   * admin_store_unavailable.
   */
  update(name: string, change: (current: DeploymentSpec) => DeploymentSpec): Promise<DeploymentSpec> {
    return this.#serial(async () => {
      const checked = (current: DeploymentSpec) => {
        const next = change(current);
        if (next !== current) this.#checkRelations(next);
        return next;
      };
      let next: DeploymentSpec | undefined | false;
      if (this.#store.update === undefined) {
        const current = this.#entries.get(name)?.spec;
        next = current && checked(current);
        if (next !== undefined && next !== current) await this.#write(next);
      } else {
        try {
          next = await this.#store.update(name, checked);
        } catch (e) {
          throw e instanceof ApiError ? e : storeUnavailable(e);
        }
      }
      if (next === undefined) throw new ApiError('deployment_not_found', `no deployment named '${name}'`);
      if (next === false)
        throw new ApiError('deployment_conflict', `'${name}' kept changing while this change was written`);
      const current = this.#entries.get(name);
      if (current === undefined || canonical(current.spec) !== canonical(next))
        this.#serve(this.#entry(next)); // as the store holds it
      return this.#entries.get(name)!.spec;
    });
  }

  /** Creates; throws deployment_exists when the name is taken (checked in turn with other writes). */
  create(spec: DeploymentSpec): Promise<void> {
    return this.#serial(async () => {
      if (this.#entries.has(spec.name)) {
        throw new ApiError('deployment_exists', `a deployment named '${spec.name}' already exists`, {
          param: 'name',
        });
      }
      await this.#put(spec);
    });
  }

  /** True when there was one. Throws admin_store_unavailable. */
  delete(name: string): Promise<boolean> {
    return this.#serial(async () => {
      const previous = this.#entries.get(name);
      const adapters = this.adaptersOf(name);
      if (adapters.length > 0)
        throw inUse(name, adapters, 'delete them first, or point them at another base');
      const pipelines = this.pipelinesUsing(name);
      if (pipelines.length > 0)
        throw inUse(name, pipelines, 'delete them first, or call another deployment', 'pipeline');
      let removed: boolean;
      try {
        removed = await this.#store.delete(name);
      } catch (e) {
        throw storeUnavailable(e);
      }
      if (previous === undefined) return removed;
      this.#entries.delete(name);
      if (previous.spec.inputSchema) this.#schemas.release(previous.spec.inputSchema);
      this.#emit({ type: 'delete', spec: previous.spec });
      return true;
    });
  }

  /**
   * Brings memory up to the store: what another process put or deleted there is put or deleted here,
   * with the same change events. While the store is unreachable the last view stays (and this throws).
   */
  resync(): Promise<void> {
    return this.#serial(async () => {
      // A Redis that came back without its data would otherwise delete every deployment here: instead
      // this replica's view is written back, and the other replicas pick it up on their next resync.
      if (this.#entries.size > 0 && this.#store.intact && !(await this.#store.intact())) {
        this.#log(
          "deployments: the store lost its data; writing this replica's deployments back",
          'its write marker is gone',
        );
        for (const e of this.#entries.values()) await this.#store.put(e.spec);
        return;
      }
      const stored = await this.#store.list();
      const seen = new Set<string>();
      for (const spec of stored) {
        seen.add(spec.name);
        const current = this.#entries.get(spec.name);
        if (current && canonical(current.spec) === canonical(spec)) continue;
        let entry: Entry;
        try {
          entry = this.#entry(spec);
        } catch (e) {
          this.#log(`deployments: not serving '${spec.name}' from the store`, e);
          continue;
        }
        this.#entries.set(spec.name, entry);
        if (current?.spec.inputSchema) this.#schemas.release(current.spec.inputSchema);
        this.#emit({ type: 'put', spec: entry.spec });
      }
      for (const [name, entry] of [...this.#entries]) {
        if (seen.has(name)) continue;
        this.#entries.delete(name);
        if (entry.spec.inputSchema) this.#schemas.release(entry.spec.inputSchema);
        this.#emit({ type: 'delete', spec: entry.spec });
      }
    });
  }

  /**
   * Resyncs every `intervalMs` (a shared store: other replicas write to it). Returns the function that
   * stops it. A failed resync is silent: the view is kept and the next one tries again.
   */
  follow(intervalMs: number): () => void {
    const timer = setInterval(() => void this.resync().catch(() => undefined), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Called after each change reaches memory. Returns the function that stops the calls. */
  onChange(listener: DeploymentListener): () => void {
    const own = (change: DeploymentChange): void => listener(change); // subscribing twice is two calls
    this.#listeners.add(own);
    return () => void this.#listeners.delete(own);
  }

  /** The adapters whose base is `name`, sorted by name. */
  adaptersOf(name: string): DeploymentSpec[] {
    return this.list().filter((d) => d.kind === 'adapter' && d.base === name);
  }

  /** The pipelines with a step that calls `name`, sorted by name. */
  pipelinesUsing(name: string): DeploymentSpec[] {
    return this.list().filter(
      (d) => d.kind === 'pipeline' && Object.values(d.steps!).some((s) => s.deployment === name),
    );
  }

  /**
   * What a spec needs of the others: an adapter's base exists and serves adapters, and a base keeps
   * serving them while adapters name it.
   */
  #checkRelations(spec: DeploymentSpec): void {
    const get = (name: string) => (name === spec.name ? spec : this.#entries.get(name)?.spec);
    if (spec.kind === 'pipeline') checkPipelineRelations(spec, get);
    // A deployment pipelines call keeps fitting them (its kind, its prompt template).
    for (const p of this.pipelinesUsing(spec.name)) {
      try {
        checkPipelineRelations(p, get);
      } catch (e) {
        throw inUse(spec.name, [p], `this change breaks it (${(e as Error).message})`, 'pipeline');
      }
    }
    if (spec.kind === 'adapter') {
      const base = this.#entries.get(spec.base!)?.spec;
      const why =
        base === undefined
          ? 'is not deployed'
          : base.kind !== 'generative'
            ? `is a ${base.kind} deployment, not a generative one`
            : base.runtime?.adapters === undefined
              ? 'does not serve adapters: give it runtime.adapters { slots, maxRank }'
              : null;
      if (why !== null)
        throw new ApiError('deployment_invalid', `adapter '${spec.name}': base '${spec.base}' ${why}`, {
          param: 'base',
        });
      return;
    }
    const adapters = this.adaptersOf(spec.name);
    if (adapters.length > 0 && (spec.kind !== 'generative' || spec.runtime?.adapters === undefined))
      throw inUse(spec.name, adapters, 'keep it generative with runtime.adapters');
  }

  /** True when it created the deployment. */
  async #put(spec: DeploymentSpec): Promise<boolean> {
    this.#checkRelations(spec);
    const created = !this.#entries.has(spec.name);
    await this.#write(spec);
    return created;
  }

  /** Writes a checked deployment to the store, then serves it. */
  async #write(spec: DeploymentSpec): Promise<void> {
    const entry = this.#entry(spec); // compiles first: a bad schema never reaches the store
    try {
      await this.#store.put(entry.spec);
    } catch (e) {
      if (entry.spec.inputSchema) this.#schemas.release(entry.spec.inputSchema);
      throw storeUnavailable(e);
    }
    this.#serve(entry);
  }

  #serve(entry: Entry): void {
    const previous = this.#entries.get(entry.spec.name);
    this.#entries.set(entry.spec.name, entry);
    if (previous?.spec.inputSchema) this.#schemas.release(previous.spec.inputSchema);
    this.#emit({ type: 'put', spec: entry.spec });
  }

  #entry(spec: DeploymentSpec): Entry {
    const own = deepFreeze(structuredClone(spec));
    return { spec: own, validate: own.inputSchema ? this.#schemas.compile(own.inputSchema) : null };
  }

  #emit(change: DeploymentChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (e) {
        this.#log(`deployments: a change listener failed on ${change.type} '${change.spec.name}'`, e);
      }
    }
  }

  #serial<T>(write: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(write);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

function inUse(
  name: string,
  users: readonly DeploymentSpec[],
  fix: string,
  role: 'adapter' | 'pipeline' = 'adapter',
): ApiError {
  const names = users.map((a) => a.name);
  const listed =
    names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  const what = role === 'adapter' ? `the base of adapter(s) ${listed}` : `called by pipeline(s) ${listed}`;
  return new ApiError('deployment_in_use', `'${name}' is ${what}: ${fix}`, {
    param: 'name',
  });
}

function storeUnavailable(e: unknown): ApiError {
  const cause = e instanceof Error ? e.message : String(e);
  return new ApiError(
    'admin_store_unavailable',
    `the deployment store failed (${cause}); nothing was changed`,
  );
}

/** JSON with object keys sorted: equal specs compare equal whatever order their keys were written in. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
