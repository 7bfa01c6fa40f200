import type { InstanceEntry, RegistryEvent } from './types.ts';

/** Only these fields matter to followers; a re-publish that changes only `updatedAt` is no event. */
function sameRoute(a: InstanceEntry, b: InstanceEntry): boolean {
  return a.deployment === b.deployment && a.url === b.url && a.state === b.state;
}

/**
 * The local copy of the shared view and the decisions on it: which incoming entries win, which are
 * stale, and what events a change produces. No I/O and no clock of its own (`now` is passed in).
 */
export class RegistryView {
  readonly #entries = new Map<string, InstanceEntry>();
  /** Changes are numbered so a full read can tell what changed after it began (no clock needed). */
  #seq = 0;
  /** The change that last took each entry in. */
  readonly #takenAt = new Map<string, number>();
  /** Removed entries (their last updatedAt, and the change number) until a full read shows them gone. */
  readonly #removed = new Map<string, { updatedAt: number; at: number }>();
  readonly #ttlMs: number;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  isStale(e: InstanceEntry, now: number): boolean {
    return now - e.updatedAt > this.#ttlMs;
  }

  list(deployment?: string): InstanceEntry[] {
    const all = [...this.#entries.values()];
    return deployment === undefined ? all : all.filter((e) => e.deployment === deployment);
  }

  /** An announced entry; an older one than held (a late message) or a stale one is ignored. */
  upsert(entry: InstanceEntry, now: number): RegistryEvent[] {
    const held = this.#entries.get(entry.id);
    if (held !== undefined && held.updatedAt > entry.updatedAt) return [];
    // A late message about an entry already removed does not bring it back; a newer publish does.
    if ((this.#removed.get(entry.id)?.updatedAt ?? -Infinity) >= entry.updatedAt) return [];
    if (this.isStale(entry, now)) return held === undefined ? [] : this.#drop(held, 'expired');
    this.#entries.set(entry.id, entry);
    this.#takenAt.set(entry.id, ++this.#seq);
    this.#removed.delete(entry.id);
    return held !== undefined && sameRoute(held, entry) ? [] : [{ type: 'upsert', entry }];
  }

  /** `remember` where messages can arrive late (Redis): the removal is then kept until a full read. */
  remove(id: string, remember = false): RegistryEvent[] {
    const held = this.#entries.get(id);
    if (held === undefined) return [];
    if (remember) this.#removed.set(id, { updatedAt: held.updatedAt, at: ++this.#seq });
    return this.#drop(held, 'removed');
  }

  /** Drops entries not refreshed within the TTL. */
  expire(now: number): RegistryEvent[] {
    return [...this.#entries.values()]
      .filter((e) => this.isStale(e, now))
      .flatMap((e) => this.#drop(e, 'expired'));
  }

  /** Taken just before a full read starts; passed to `replace` with its result. */
  mark(): number {
    return this.#seq;
  }

  /**
   * Makes the view match a full read of the store that began at `mark`; the events are the difference.
   * What changed after the read began (a message that overtook the reply) stays as the message said.
   */
  replace(remote: readonly InstanceEntry[], mark: number, now: number): RegistryEvent[] {
    const seen = new Set(remote.map((e) => e.id));
    const events = [...this.#entries.values()]
      .filter((e) => !seen.has(e.id) && (this.#takenAt.get(e.id) ?? 0) <= mark)
      .flatMap((e) => this.#drop(e, 'removed'));
    for (const e of remote) {
      if ((this.#removed.get(e.id)?.at ?? 0) <= mark) events.push(...this.upsert(e, now));
    }
    for (const [id, r] of this.#removed) if (r.at <= mark && !seen.has(id)) this.#removed.delete(id);
    return [...events, ...this.expire(now)];
  }

  #drop(e: InstanceEntry, reason: 'removed' | 'expired'): RegistryEvent[] {
    this.#entries.delete(e.id);
    this.#takenAt.delete(e.id);
    return [{ type: 'remove', entry: e, reason }];
  }
}
