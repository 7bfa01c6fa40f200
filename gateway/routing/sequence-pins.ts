/** Where a sequence's requests go, as sequencePins.where answers it. */
export type SequencePlace =
  | { readonly kind: 'pinned'; readonly instanceId: string }
  /** No open sequence by that id here: never started (through this gateway), ended, or idle too long. */
  | { readonly kind: 'unknown' };

interface Pin {
  readonly instanceId: string;
  readonly idleTimeoutMs: number;
  lastUsedAt: number;
}

/**
 * Which instance holds each open sequence of a stateful tensor model, by deployment and correlation id:
 * every request of a sequence goes to the instance that holds its state. (The router keeps conversations'
 * last instances in one too, with no expiry.) A pin outlives its instance, so
 * that a sequence whose instance is gone is answered sequence_lost rather than started afresh elsewhere.
 * Pure: every call is given `now`. Least recently used first, bounded: the oldest pin goes when full.
 */
export class SequencePins {
  readonly #pins = new Map<string, Pin>();
  readonly #capacity: number;

  constructor(capacity = 100_000) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#pins.size;
  }

  /** Sequence `id` is (re)started on `instanceId`, whose sequences expire after `idleTimeoutMs` idle. */
  pin(deployment: string, id: string, instanceId: string, idleTimeoutMs: number, now: number): void {
    const key = `${deployment}\u0000${id}`;
    this.#pins.delete(key);
    if (this.#pins.size >= this.#capacity) this.#pins.delete(this.#pins.keys().next().value!);
    this.#pins.set(key, { instanceId, idleTimeoutMs, lastUsedAt: now });
  }

  /** Where the sequence's next request goes; a pin idle past its instance's timeout is forgotten. */
  where(deployment: string, id: string, now: number): SequencePlace {
    const key = `${deployment}\u0000${id}`;
    const p = this.#pins.get(key);
    if (!p) return { kind: 'unknown' };
    this.#pins.delete(key);
    if (now - p.lastUsedAt > p.idleTimeoutMs) return { kind: 'unknown' };
    p.lastUsedAt = now;
    this.#pins.set(key, p);
    return { kind: 'pinned', instanceId: p.instanceId };
  }

  unpin(deployment: string, id: string): void {
    this.#pins.delete(`${deployment}\u0000${id}`);
  }
}
