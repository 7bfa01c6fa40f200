import { AdapterError } from '../adapters/index.ts';
import type { Engine } from '../engine/index.ts';
import { ApiError } from '../errors/index.ts';

/**
 * The adapters an instance was asked for, each loaded once by id from its folder: requests that name
 * one while it loads wait for that same load, and the engine keeps stepping meanwhile. A failed load is
 * forgotten (the next request tries again) and answered with the adapter's refusal code.
 */
export class InstanceAdapters {
  readonly #engine: () => Engine;
  readonly #loads = new Map<string, { readonly path: string; readonly done: Promise<void> }>();

  constructor(engine: () => Engine) {
    this.#engine = engine;
  }

  /** Resolves once adapter `id` from `path` is loaded; ApiError when it cannot be. */
  ensure(id: string, path: string): Promise<void> {
    const known = this.#loads.get(id);
    if (known !== undefined) {
      if (known.path !== path)
        throw new ApiError('adapter_conflict', `adapter '${id}' is loaded from ${known.path}, not ${path}`);
      return known.done;
    }
    const engine = this.#engine();
    if (engine.adapterStats() === undefined)
      throw new ApiError(
        'adapters_not_served',
        `${engine.model.manifest.name} was started without adapter slots`,
      );
    const done = engine.loadAdapter(id, path).catch((e: unknown) => {
      this.#loads.delete(id);
      throw e instanceof AdapterError ? new ApiError(e.code, e.message) : e;
    });
    this.#loads.set(id, { path, done });
    return done;
  }

  /** The ids asked for and loaded (or loading), for GET /adapters and the load report. */
  ids(): string[] {
    return [...this.#loads.keys()];
  }
}
