/**
 * The life of one warm-pool instance as a pure state machine. Every transition is stamped with the
 * injected clock; an illegal transition throws, because it means the caller's bookkeeping is wrong.
 *
 *   requested → starting → loading → warming → ready-idle ⇄ serving → draining → stopped
 *   (any state before stopped may go to failed)
 */
export type InstanceState =
  | 'requested'
  | 'starting' // process spawned
  | 'loading' // runtime up (/live answers), model loading
  | 'warming' // model loaded, warm-up inference running
  | 'ready-idle'
  | 'serving'
  | 'draining'
  | 'stopped'
  | 'failed';

const NEXT: Readonly<Record<InstanceState, readonly InstanceState[]>> = {
  requested: ['starting', 'stopped', 'failed'],
  starting: ['loading', 'draining', 'failed'],
  loading: ['warming', 'draining', 'failed'],
  warming: ['ready-idle', 'draining', 'failed'],
  'ready-idle': ['serving', 'draining', 'failed'],
  serving: ['ready-idle', 'draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

export interface Transition {
  readonly state: InstanceState;
  readonly at: number;
}

/** Durations in ms; a phase not yet finished (or skipped) is absent. */
export interface PhaseDurations {
  readonly startingMs?: number;
  readonly loadingMs?: number;
  readonly warmingMs?: number;
  /** requested → first ready-idle. */
  readonly coldStartMs?: number;
}

export class InstanceLifecycle {
  readonly id: string;
  readonly #now: () => number;
  readonly #history: Transition[];
  #failure: string | undefined;

  constructor(id: string, now: () => number = Date.now) {
    this.id = id;
    this.#now = now;
    this.#history = [{ state: 'requested', at: now() }];
  }

  get state(): InstanceState {
    return this.#history.at(-1)!.state;
  }

  /** Why it failed; set only in `failed`. */
  get failure(): string | undefined {
    return this.#failure;
  }

  get history(): readonly Transition[] {
    return this.#history;
  }

  canMove(to: InstanceState): boolean {
    return NEXT[this.state].includes(to);
  }

  /**
   * Moves to `to`, stamped now, or at `at` when the moment was observed earlier (e.g. by a provider's
   * poll); `at` must not go back before the previous transition.
   */
  move(to: Exclude<InstanceState, 'failed'>, at: number = this.#now()): void {
    this.#push(to, at);
  }

  fail(reason: string, at: number = this.#now()): void {
    this.#push('failed', at);
    this.#failure = reason;
  }

  phases(): PhaseDurations {
    const first = (s: InstanceState) => this.#history.find((t) => t.state === s)?.at;
    const span = (from: InstanceState, to: InstanceState) => {
      const a = first(from);
      const b = first(to);
      return a === undefined || b === undefined ? undefined : b - a;
    };
    const out: { -readonly [K in keyof PhaseDurations]: number | undefined } = {
      startingMs: span('starting', 'loading'),
      loadingMs: span('loading', 'warming'),
      warmingMs: span('warming', 'ready-idle'),
      coldStartMs: span('requested', 'ready-idle'),
    };
    return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
  }

  #push(to: InstanceState, at: number): void {
    const from = this.#history.at(-1)!;
    if (!NEXT[from.state].includes(to))
      throw new Error(`instance ${this.id}: illegal transition ${from.state} → ${to}`);
    if (!(at >= from.at))
      throw new Error(
        `instance ${this.id}: transition to ${to} at ${at} is before ${from.state} at ${from.at}`,
      );
    this.#history.push({ state: to, at });
  }
}
