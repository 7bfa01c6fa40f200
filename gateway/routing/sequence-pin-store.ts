import type { Clock } from '../../runtime/time/clock.ts';
import { type SequencePlace, SequencePins } from './sequence-pins.ts';

/**
 * Where the gateway keeps which instance holds each open sequence. One gateway: in its memory. Several
 * replicas behind one address: in Redis, so a sequence started through one replica continues through
 * any other instead of answering sequence_not_started there.
 */
export interface SequencePinStore {
  /** Sequence `id` of pool `pool` is (re)started on `instanceId`; it expires after `idleTimeoutMs` idle. */
  pin(pool: string, id: string, instanceId: string, idleTimeoutMs: number): Promise<void>;
  /** Where its next request goes (and it was used now). */
  where(pool: string, id: string): Promise<SequencePlace>;
  unpin(pool: string, id: string): Promise<void>;
  close(): Promise<void>;
}

/** In this process's memory (SequencePins, on the clock's monotonic time). */
export class MemorySequencePins implements SequencePinStore {
  readonly #pins: SequencePins;
  readonly #clock: Clock;

  constructor(clock: Clock, capacity?: number) {
    this.#pins = new SequencePins(capacity);
    this.#clock = clock;
  }

  async pin(pool: string, id: string, instanceId: string, idleTimeoutMs: number): Promise<void> {
    this.#pins.pin(pool, id, instanceId, idleTimeoutMs, this.#clock.monotonic());
  }

  async where(pool: string, id: string): Promise<SequencePlace> {
    return this.#pins.where(pool, id, this.#clock.monotonic());
  }

  async unpin(pool: string, id: string): Promise<void> {
    this.#pins.unpin(pool, id);
  }

  async close(): Promise<void> {}
}
