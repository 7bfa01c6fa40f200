// A Clock (runtime/time/clock.ts) whose time moves only when the test says so. Declare it with `using`
// so that its timers are dropped when the test ends, whatever path the test took:
//
//   using clock = new FakeClock(T0);
//   startControllerLoop(controller, { intervalMs: 500, clock });
//   await clock.advance(1500); // the ticks at T0, T0 + 500, T0 + 1000 and T0 + 1500 have run
import type { Clock } from '../../runtime/time/clock.ts';

interface Timer {
  readonly id: number;
  at: number;
  readonly fn: () => void;
  readonly everyMs?: number;
  /** Order of scheduling: timers due at the same instant run in it. */
  seq: number;
}

/** Lets every promise continuation queued so far run (no real I/O is waited for). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

export class FakeClock implements Clock, Disposable {
  #now: number;
  #seq = 0;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();
  #disposed = false;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** The same instant as now(): fake time never steps back. */
  monotonic(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.#add(this.#now + Math.max(0, ms), fn);
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): unknown {
    const everyMs = Math.max(1, ms);
    return this.#add(this.#now + everyMs, fn, everyMs);
  }

  clearInterval(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers scheduled and not yet run (an interval counts until cleared). */
  get pending(): number {
    return this.#timers.size;
  }

  /** The instant the next timer is due, or undefined when none is. */
  get nextAt(): number | undefined {
    return this.#due(Infinity)?.at;
  }

  /**
   * Moves time forward by `ms`. Each timer due meanwhile runs at its own instant (now() says so while
   * it runs), in order; what it set off (promises, timers due within the span) runs before the next.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): time only moves forward`);
    const until = this.#now + ms;
    for (let t = this.#due(until); t; t = this.#due(until)) {
      this.#now = t.at;
      if (t.everyMs === undefined) this.#timers.delete(t.id);
      else {
        t.at += t.everyMs;
        t.seq = this.#seq++;
      }
      t.fn();
      await settle();
    }
    this.#now = until;
    await settle();
  }

  /** Moves time to the instant `at` (not before now), running what falls due. */
  async advanceTo(at: number): Promise<void> {
    await this.advance(at - this.#now);
  }

  /** Drops every timer; one set afterwards throws (something outlived its test). */
  [Symbol.dispose](): void {
    this.#timers.clear();
    this.#disposed = true;
  }

  #add(at: number, fn: () => void, everyMs?: number): number {
    if (this.#disposed) throw new Error('a timer was set on a FakeClock after its test ended');
    const t: Timer = {
      id: this.#nextId++,
      at,
      fn,
      seq: this.#seq++,
      ...(everyMs !== undefined && { everyMs }),
    };
    this.#timers.set(t.id, t);
    return t.id;
  }

  #due(until: number): Timer | undefined {
    let first: Timer | undefined;
    for (const t of this.#timers.values())
      if (t.at <= until && (!first || t.at < first.at || (t.at === first.at && t.seq < first.seq))) first = t;
    return first;
  }
}
