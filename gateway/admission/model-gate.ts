import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import type { ClientSignal } from '../http/client-signal.ts';
import { ApiError } from '../errors/index.ts';
import { FirstTokenWindow } from './first-token-window.ts';

export interface GateLimits {
  /** Requests of this model in flight through the gateway at once; past it, 429. */
  readonly maxConcurrency: number;
  /** Requests waiting for a ready instance; past it, 503. */
  readonly maxQueued: number;
  /** How long a request may wait for a ready instance before 503. */
  readonly queueTimeoutMs: number;
}

export const DEFAULT_GATE_LIMITS: GateLimits = {
  maxConcurrency: 512,
  maxQueued: 256,
  queueTimeoutMs: 30_000,
};

interface Waiter {
  readonly wake: () => void;
}

/**
 * One model's admission at the gateway: a concurrency cap (429), and an activator-style queue where
 * requests wait while no instance is ready (503 when full or past the deadline). The queue is owned here
 * and nowhere else; waiters whose client left are dropped before they are woken.
 */
export class ModelGate {
  readonly model: string;
  readonly #limits: GateLimits;
  #inFlight = 0;
  /** Epoch ms of the last request admitted, for keep-alive; null before the first. */
  lastRequestAt: number | null = null;
  /** Recent times to first token at the instances, for the controller's capacity at the SLO. */
  readonly firstTokens = new FirstTokenWindow();
  readonly #waiters = new Set<Waiter>();

  readonly #onWait: (model: string) => void;
  readonly #clock: Clock;

  /**
   * `onWait`: a request started waiting for a ready instance (capacity should come up now). `clock`
   * stamps lastRequestAt and times the queue (its monotonic time and timers).
   */
  constructor(
    model: string,
    limits: GateLimits,
    onWait: (model: string) => void = () => {},
    clock: Clock = systemClock,
  ) {
    this.model = model;
    this.#limits = limits;
    this.#onWait = onWait;
    this.#clock = clock;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#waiters.size;
  }

  /** Takes a concurrency slot, released by the returned function (idempotent), or refuses with 429. */
  enter(): () => void {
    if (this.#inFlight >= this.#limits.maxConcurrency) {
      throw new ApiError(
        'concurrency_limit',
        `model '${this.model}' has ${this.#inFlight} requests in flight, its limit: retry after 1 s`,
        { retryAfter: 1 },
      );
    }
    this.#inFlight++;
    this.lastRequestAt = this.#clock.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
    };
  }

  /**
   * Returns what `attempt` finds (e.g. a route to a ready instance), waiting while it finds nothing:
   * retried each time `wakeAll` is called, until the deadline or the client leaves.
   */
  async waitFor<T>(attempt: () => T | null, signal: ClientSignal): Promise<{ value: T; waitedMs: number }> {
    const first = attempt();
    if (first !== null) return { value: first, waitedMs: 0 };
    if (this.#waiters.size >= this.#limits.maxQueued) {
      throw new ApiError(
        'no_capacity',
        `model '${this.model}' has no ready instance and ${this.#waiters.size} requests already waiting: retry after 2 s`,
        { retryAfter: 2 },
      );
    }
    const clock = this.#clock;
    const started = clock.monotonic();
    this.#onWait(this.model);
    const deadline = started + this.#limits.queueTimeoutMs;
    for (;;) {
      const woken = await this.#sleep(deadline - clock.monotonic(), signal);
      signal.throwIfAborted();
      const value = attempt();
      if (value !== null) return { value, waitedMs: clock.monotonic() - started };
      if (!woken) {
        throw new ApiError(
          'no_capacity',
          `no instance of model '${this.model}' became ready within ${this.#limits.queueTimeoutMs} ms: retry after 2 s`,
          { retryAfter: 2 },
        );
      }
    }
  }

  /** Capacity may have come up: every waiter tries again. */
  wakeAll(): void {
    for (const w of [...this.#waiters]) w.wake();
  }

  /** Resolves true when woken, false at the timeout or when the signal aborts. */
  #sleep(ms: number, signal: ClientSignal): Promise<boolean> {
    if (ms <= 0 || signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        this.#clock.clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
        resolve(woken);
      };
      const onAbort = () => done(false);
      const waiter: Waiter = { wake: () => done(true) };
      const timer = this.#clock.setTimeout(() => done(false), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }
}
