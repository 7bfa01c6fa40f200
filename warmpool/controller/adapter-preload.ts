import { request } from 'undici';
import { type AdapterRef, adapterRef, type DeploymentSpec } from '../../gateway/deployments/index.ts';
import type { HistoryReader } from '../policies/index.ts';

/** How far back an adapter's arrivals count towards preloading it. */
const PRELOAD_WINDOW_MS = 3_600_000;
/** A preload that takes longer is let go (the adapter loads on its first request instead). */
const PRELOAD_TIMEOUT_MS = 30_000;

/**
 * The adapters a base's instances should hold before their next requests come: the ones called most in
 * the last hour (more recent first among equals), as many as the base has adapter slots. The hour
 * before is the forecast: an adapter called in it is likely to be called again soon, and one nobody
 * called in an hour is not worth a slot ahead of time.
 */
export function adaptersToPreload(
  adapters: readonly { spec: DeploymentSpec; history: HistoryReader | undefined }[],
  slots: number,
  readThrough: number,
): AdapterRef[] {
  return adapters
    .map(({ spec, history }) => ({
      spec,
      calls: history?.arrivals(readThrough - PRELOAD_WINDOW_MS, readThrough) ?? 0,
      last: history?.lastArrivalAt ?? 0,
    }))
    .filter((a) => a.calls > 0)
    .sort((a, b) => b.calls - a.calls || b.last - a.last || a.spec.name.localeCompare(b.spec.name))
    .slice(0, slots)
    .map((a) => adapterRef(a.spec));
}

/**
 * Asks ready instances to load adapters ahead of their requests (POST /adapters), once each per
 * instance: a load already asked for, running, done or refused (a bad adapter: its requests get the
 * refusal), is not asked again; one that failed to reach the instance is tried again on a later tick.
 * Never waits: the controller's tick goes on while instances load.
 */
export class AdapterPreloader {
  /** Per instance URL: the adapter ids asked for (in flight or loaded). */
  readonly #asked = new Map<string, Set<string>>();
  #failures = 0;

  /** Adapter loads this call started. */
  preload(urls: readonly string[], wanted: readonly AdapterRef[]): number {
    let started = 0;
    for (const url of urls) {
      let asked = this.#asked.get(url);
      if (asked === undefined) this.#asked.set(url, (asked = new Set()));
      for (const a of wanted) {
        if (asked.has(a.id)) continue;
        asked.add(a.id);
        started++;
        void this.#load(url, a).then((status) => {
          if (status === 200) return;
          this.#failures++;
          if (status === null || status >= 500) asked.delete(a.id);
        });
      }
    }
    return started;
  }

  /** Forgets instances no longer in `urls` (stopped or replaced). */
  keepOnly(urls: Iterable<string>): void {
    const keep = new Set(urls);
    for (const url of this.#asked.keys()) if (!keep.has(url)) this.#asked.delete(url);
  }

  /** Preloads that failed since start (an instance refused or did not answer). */
  get failures(): number {
    return this.#failures;
  }

  /** The instance's answer's status; null when it did not answer. */
  async #load(url: string, a: AdapterRef): Promise<number | null> {
    try {
      const res = await request(`${url}/adapters`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: a.id, path: a.path }),
        signal: AbortSignal.timeout(PRELOAD_TIMEOUT_MS),
      });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return null;
    }
  }
}
