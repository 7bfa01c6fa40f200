import { type Clock, systemClock, unrefTimer } from '../../runtime/time/clock.ts';
import type { InstanceEntry, RegistryEvent, RegistryListener, SharedInstanceRegistry } from './types.ts';
import { RegistryView } from './view.ts';

export interface MemorySharedRegistryOptions {
  /** Entries not re-published for this long are gone. Default 10_000 ms. */
  ttlMs?: number;
  /** How often stale entries are swept out (and announced); 0 turns the timer off. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** Default systemClock. */
  clock?: Clock;
}

/** The shared registry of a single process (controller and gateway in one): events are synchronous. */
export class MemorySharedRegistry implements SharedInstanceRegistry {
  readonly #view: RegistryView;
  readonly #clock: Clock;
  readonly #listeners = new Set<RegistryListener>();
  readonly #timer: unknown;

  constructor(o: MemorySharedRegistryOptions = {}) {
    this.#view = new RegistryView(o.ttlMs ?? 10_000);
    this.#clock = o.clock ?? systemClock;
    const every = o.sweepIntervalMs ?? 1000;
    this.#timer = every > 0 ? unrefTimer(this.#clock.setInterval(() => void this.sync(), every)) : undefined;
  }

  async publish(entry: InstanceEntry): Promise<void> {
    this.#emit(this.#view.upsert(entry, this.#clock.now()));
  }

  async remove(id: string): Promise<void> {
    this.#emit(this.#view.remove(id));
  }

  list(deployment?: string): InstanceEntry[] {
    const now = this.#clock.now();
    return this.#view.list(deployment).filter((e) => !this.#view.isStale(e, now));
  }

  subscribe(listener: RegistryListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async sync(): Promise<void> {
    this.#emit(this.#view.expire(this.#clock.now()));
  }

  async close(): Promise<void> {
    this.#clock.clearInterval(this.#timer);
    this.#listeners.clear();
  }

  #emit(events: readonly RegistryEvent[]): void {
    for (const ev of events) for (const l of [...this.#listeners]) l(ev);
  }
}
