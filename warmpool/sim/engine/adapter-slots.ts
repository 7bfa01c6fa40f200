/** How a base-model instance holds LoRA adapters in the simulation. */
export interface AdapterSettings {
  /** Adapters one instance holds at once (at least the instance's request slots: see README.md). */
  readonly slots: number;
  /** Added before a request starts when its adapter is not resident on its instance, ms. */
  readonly loadMs: number;
}

interface Resident {
  /** Requests admitted with this adapter and not done (loading included): it cannot be evicted. */
  users: number;
  /** When its load is done (a request admitted earlier waits until then). */
  readonly readyAt: number;
}

/**
 * One instance's adapter slots, as the runtime's slot table keeps them: a request refers to its
 * adapter until it is done, and a load evicts the least recently used adapter that no request refers
 * to. The Map's order is the LRU order of the unused ones: an adapter moves to the end when its last
 * request is done.
 */
export class AdapterSlots {
  readonly #s: AdapterSettings;
  readonly #resident = new Map<number, Resident>();

  constructor(s: AdapterSettings) {
    this.#s = s;
  }

  has(adapter: number): boolean {
    return this.#resident.has(adapter);
  }

  /** Adapters resident now, least recently released first (for tests). */
  residents(): number[] {
    return [...this.#resident.keys()];
  }

  /**
   * A request for `adapter` is admitted at `t`: returns when it can start (t if resident and loaded;
   * the end of a load under way, which concurrent requests share; else t + loadMs, evicting if full).
   */
  admit(adapter: number, t: number): number {
    const r = this.#resident.get(adapter);
    if (r !== undefined) {
      r.users++;
      return Math.max(t, r.readyAt);
    }
    if (this.#resident.size >= this.#s.slots) this.#evict();
    const readyAt = t + this.#s.loadMs;
    this.#resident.set(adapter, { users: 1, readyAt });
    return readyAt;
  }

  /** A request for `adapter` is done. */
  release(adapter: number): void {
    const r = this.#resident.get(adapter)!;
    if (--r.users > 0) return;
    this.#resident.delete(adapter);
    this.#resident.set(adapter, r);
  }

  #evict(): void {
    for (const [a, r] of this.#resident) {
      if (r.users > 0) continue;
      this.#resident.delete(a);
      return;
    }
    // Adapter slots ≥ request slots leaves one unused whenever a request slot is free.
    throw new Error('sim: every adapter slot is in use'); // a bookkeeping bug
  }
}
