/** One open sequence: its state tensors (one row each) and when a request last touched it. */
interface OpenSequence {
  state: ReadonlyMap<string, Float32Array>;
  lastUsedAt: number;
}

/**
 * The state of every open sequence on an instance, by correlation id. Pure: every call is given `now`
 * (monotonic ms). Kept in least recently used order (a touch moves an entry to the end), so expiry
 * looks only at the head.
 */
export class SequenceStore {
  readonly #open = new Map<string, OpenSequence>();
  readonly #idleTimeoutMs: number;
  readonly #maxSequences: number;

  constructor(idleTimeoutMs: number, maxSequences: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#maxSequences = maxSequences;
  }

  get size(): number {
    return this.#open.size;
  }

  /**
   * Opens (or restarts) sequence `id` with `initial` state. False when every slot is held by a sequence
   * that has not expired: a shortfall the caller answers, not an error.
   */
  start(id: string, initial: ReadonlyMap<string, Float32Array>, now: number): boolean {
    this.#open.delete(id);
    this.sweep(now);
    if (this.#open.size >= this.#maxSequences) return false;
    this.#open.set(id, { state: initial, lastUsedAt: now });
    return true;
  }

  /** The state of open sequence `id`, touched; null when it was never started, ended or expired. */
  resume(id: string, now: number): ReadonlyMap<string, Float32Array> | null {
    const s = this.#open.get(id);
    if (!s) return null;
    this.#open.delete(id);
    if (now - s.lastUsedAt > this.#idleTimeoutMs) return null;
    s.lastUsedAt = now;
    this.#open.set(id, s);
    return s.state;
  }

  /** The state a step of `id` left; ignored when the sequence was closed meanwhile. */
  save(id: string, state: ReadonlyMap<string, Float32Array>): void {
    const s = this.#open.get(id);
    if (s) s.state = state;
  }

  end(id: string): void {
    this.#open.delete(id);
  }

  /** Closes the sequences idle longer than the timeout; returns how many. */
  sweep(now: number): number {
    let closed = 0;
    for (const [id, s] of this.#open) {
      if (now - s.lastUsedAt <= this.#idleTimeoutMs) break;
      this.#open.delete(id);
      closed++;
    }
    return closed;
  }
}
