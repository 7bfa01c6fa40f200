import type { Lease } from './redis-lease.ts';
import { realTimers, type Timers } from './timers.ts';

/** Why leadership ended: renew refused, local lease expiry (Redis unreachable), or stop(). */
export type LostReason = 'renew-refused' | 'expired' | 'stopped';

export interface LeaderElectorOptions {
  lease: Lease;
  holderId: string;
  /** Pause between acquire attempts while following. Default 1000 ms. */
  retryMs?: number;
  /** Pause between renewals while leading. Default lease.ttlMs / 3. */
  renewEveryMs?: number;
  /** Called when a term begins; must not throw. Pass the token to every fenced write. */
  onElected?: (token: number) => void;
  /** Called when a term ends; stop all leader work at once. Must not throw. */
  onLost?: (reason: LostReason) => void;
  /** Milliseconds on any monotonic scale; default performance.now (immune to wall-clock steps). */
  now?: () => number;
  timers?: Timers;
}

interface Term {
  readonly token: number;
  /** Local time by which the lease has surely expired in Redis too (counted from before the call). */
  validUntil: number;
}

/**
 * Runs the election loop for one replica. While following it tries to acquire every `retryMs`;
 * while leading it renews every `renewEveryMs`. Leadership ends at the first refused renew, or when
 * the lease's TTL, counted locally from before the last successful call, runs out; a Redis outage
 * thus ends it after at most one TTL. `leading()` checks the clock itself, so even when timers run
 * late (a paused process) it never reports a term past its local expiry.
 */
export class LeaderElector {
  readonly #lease: Lease;
  readonly #holderId: string;
  readonly #retryMs: number;
  readonly #renewEveryMs: number;
  readonly #onElected: (token: number) => void;
  readonly #onLost: (reason: LostReason) => void;
  readonly #now: () => number;
  readonly #timers: Timers;
  #term: Term | null = null;
  #loopTimer: unknown = undefined;
  #expiryTimer: unknown = undefined;
  #inflight: Promise<void> = Promise.resolve();
  #running = false;

  constructor(options: LeaderElectorOptions) {
    this.#lease = options.lease;
    this.#holderId = options.holderId;
    this.#retryMs = options.retryMs ?? 1000;
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(options.lease.ttlMs / 3));
    if (this.#renewEveryMs >= options.lease.ttlMs) {
      throw new RangeError(
        `renewEveryMs (${this.#renewEveryMs}) must be below the lease TTL (${options.lease.ttlMs})`,
      );
    }
    this.#onElected = options.onElected ?? (() => undefined);
    this.#onLost = options.onLost ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now()); // monotonic: only durations matter here
    this.#timers = options.timers ?? realTimers;
  }

  /** The current term, or null when not leading or when the lease has expired by the local clock. */
  leading(): { token: number } | null {
    const term = this.#term;
    return term !== null && this.#now() < term.validUntil ? { token: term.token } : null;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops the loop and releases the lease if held, so another replica takes over without waiting. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#timers.clearTimeout(this.#loopTimer);
    await this.#inflight; // an acquire in flight may still win; the step below then releases it
    const term = this.#term;
    if (term === null) return;
    this.#endTerm('stopped');
    try {
      await this.#lease.release(this.#holderId, term.token);
    } catch {
      // Redis unreachable: the lease expires by itself within one TTL.
    }
  }

  #schedule(ms: number): void {
    this.#timers.clearTimeout(this.#loopTimer);
    this.#loopTimer = this.#timers.setTimeout(() => {
      this.#inflight = this.#step();
    }, ms);
  }

  async #step(): Promise<void> {
    if (!this.#running) return;
    const term = this.#term;
    const sentAt = this.#now();
    if (term === null) {
      let won: { token: number } | null = null;
      try {
        won = await this.#lease.tryAcquire(this.#holderId);
      } catch {
        // Redis unreachable: try again after retryMs.
      }
      if (won !== null && !this.#running) {
        await this.#lease.release(this.#holderId, won.token).catch(() => undefined); // stopped meanwhile
        return;
      }
      if (won !== null) this.#beginTerm(won.token, sentAt);
      if (this.#running) this.#schedule(won !== null ? this.#renewEveryMs : this.#retryMs);
      return;
    }
    let renewed: boolean | null = null;
    try {
      renewed = await this.#lease.renew(this.#holderId, term.token);
    } catch {
      // Unknown outcome: keep the term until its local expiry and try again meanwhile.
    }
    if (this.#term !== term) return; // ended (expired or stopped) while the call was out
    if (renewed === false) {
      this.#endTerm('renew-refused');
    } else if (renewed === true && this.#now() >= term.validUntil) {
      // leading() may already have said null (late timers); a term never resumes after that.
      this.#endTerm('expired');
    } else if (renewed === true) {
      term.validUntil = sentAt + this.#lease.ttlMs;
      this.#armExpiry();
    }
    if (this.#running) this.#schedule(this.#term === null ? this.#retryMs : this.#renewEveryMs);
  }

  #beginTerm(token: number, sentAt: number): void {
    this.#term = { token, validUntil: sentAt + this.#lease.ttlMs };
    this.#armExpiry();
    this.#onElected(token);
  }

  #armExpiry(): void {
    const term = this.#term!;
    this.#timers.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = this.#timers.setTimeout(
      () => {
        if (this.#term !== term) return;
        if (this.#now() < term.validUntil) return this.#armExpiry(); // timer fired early
        this.#endTerm('expired');
        if (this.#running) this.#schedule(this.#retryMs);
      },
      Math.max(0, term.validUntil - this.#now()),
    );
  }

  #endTerm(reason: LostReason): void {
    this.#timers.clearTimeout(this.#expiryTimer);
    this.#term = null;
    this.#onLost(reason);
  }
}
