import { AdapterError } from '../adapters/index.ts';
import type { Engine } from '../engine/index.ts';
import { ApiError } from '../errors/index.ts';

/**
 * Adapters held in host memory per adapter slot. Loading one from host memory into a slot is a copy;
 * from disk it is a read and a check, so more are kept than the slots, but not without bound: a base
 * serving thousands of adapters would otherwise hold every one it was ever asked for.
 */
export const HOST_ADAPTERS_PER_SLOT = 4;

interface Load {
  readonly path: string;
  readonly done: Promise<void>;
}

/**
 * The adapters an instance was asked for, each loaded once by id from its folder: requests that name
 * one while it loads wait for that same load, and the engine keeps stepping meanwhile. A failed load is
 * forgotten (the next request tries again) and answered with the adapter's refusal code. Beyond
 * HOST_ADAPTERS_PER_SLOT per slot, the least recently asked-for adapters no request is using are let go.
 */
export class InstanceAdapters {
  readonly #engine: () => Engine;
  /** In order of last use, least recent first. */
  readonly #loads = new Map<string, Load>();

  constructor(engine: () => Engine) {
    this.#engine = engine;
  }

  /** Resolves once adapter `id` from `path` is loaded; ApiError when it cannot be. */
  ensure(id: string, path: string): Promise<void> {
    const known = this.#loads.get(id);
    if (known !== undefined) {
      if (known.path !== path)
        throw new ApiError('adapter_conflict', `adapter '${id}' is loaded from ${known.path}, not ${path}`);
      this.#loads.delete(id);
      this.#loads.set(id, known);
      return known.done;
    }
    const engine = this.#engine();
    const stats = engine.adapterStats();
    if (stats === undefined)
      throw new ApiError(
        'adapters_not_served',
        `${engine.model.manifest.name} was started without adapter slots`,
      );
    const done = engine.loadAdapter(id, path).catch((e: unknown) => {
      this.#loads.delete(id);
      throw e instanceof AdapterError ? new ApiError(e.code, e.message) : e;
    });
    this.#loads.set(id, { path, done });
    void done.then(
      () => this.#letGoBeyond(stats.slots * HOST_ADAPTERS_PER_SLOT),
      () => undefined,
    );
    return done;
  }

  /** The ids asked for and loaded (or loading), for GET /adapters and the load report. */
  ids(): string[] {
    return [...this.#loads.keys()];
  }

  /** Unloads the least recently used loaded adapters no request holds while more than `limit` are kept. */
  #letGoBeyond(limit: number): void {
    let excess = this.#loads.size - limit;
    if (excess <= 0) return;
    const engine = this.#engine();
    for (const id of [...this.#loads.keys()]) {
      if (excess <= 0) break;
      // One still loading, or in use by a request, stays.
      if (!engine.adapterLoaded(id) || !engine.unloadAdapter(id)) continue;
      this.#loads.delete(id);
      excess--;
    }
  }
}
