import { type Clock, systemClock } from '../../runtime/time/clock.ts';

export interface ControllerLoopOptions {
  readonly intervalMs: number;
  /** Tells each tick its `now` and schedules the next. Default systemClock. */
  readonly clock?: Clock;
  /** A tick that threw; the loop goes on. Default: ignored. */
  readonly onError?: (e: unknown) => void;
}

export interface ControllerLoop {
  /** Runs a tick now (after the one in progress, if any): e.g. a request is waiting at zero instances. */
  kick(): void;
  /** Stops scheduling ticks and waits for the one in progress. */
  stop(): Promise<void>;
}

/** What the loop drives: a Controller, or a wrapper that ticks it only while leading. */
export interface Tickable {
  tick(now: number): Promise<void>;
}

/**
 * Calls controller.tick(now) every intervalMs; the next tick is scheduled when the previous one ends,
 * so ticks never overlap.
 */
export function startControllerLoop(controller: Tickable, o: ControllerLoopOptions): ControllerLoop {
  const clock = o.clock ?? systemClock;
  let stopped = false;
  let handle: unknown;
  let current: Promise<void> = Promise.resolve();

  const run = () => {
    current = (async () => {
      try {
        await controller.tick(clock.now());
      } catch (e) {
        o.onError?.(e);
      } finally {
        if (!stopped) handle = clock.setTimeout(run, o.intervalMs);
      }
    })();
  };
  handle = clock.setTimeout(run, 0);

  let kicked = false;
  return {
    kick() {
      if (stopped || kicked) return;
      kicked = true;
      void current.then(() => {
        kicked = false;
        if (stopped) return;
        clock.clearTimeout(handle);
        run();
      });
    },
    async stop() {
      stopped = true;
      clock.clearTimeout(handle);
      await current;
    },
  };
}
