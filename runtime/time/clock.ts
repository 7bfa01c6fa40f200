/**
 * Time as the code that schedules or stamps things sees it: the wall clock and timers, passed in at
 * the edges (systemClock by default) so that tests step time explicitly instead of sleeping
 * (test/support/fake-clock.ts).
 *
 * Clock is for time that decides something (windows, expiries, timeouts, intervals that act); durations
 * measured only for reports (latency histograms, spans, step timings) use performance.now() directly.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Milliseconds on a monotonic scale with sub-millisecond resolution (performance.now()): for waits
   * that a step of the wall clock must not stretch or cut short. Only differences mean anything.
   */
  monotonic(): number;
  /** Runs `fn` once after `ms`; the handle is only good for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` every `ms` until cleared. */
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** The process's own clock and timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
  clearInterval: (handle: unknown) => clearInterval(handle as NodeJS.Timeout | undefined),
});

/**
 * Lets the process exit while the timer `handle` is pending (Node's `unref()`), for background work
 * such as a periodic flush or sweep; a handle without one (a fake clock's) is left as it is.
 */
export function unrefTimer<H>(handle: H): H {
  (handle as { unref?: () => unknown } | null | undefined)?.unref?.();
  return handle;
}
