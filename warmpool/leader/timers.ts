import { type Clock, systemClock } from '../../runtime/time/clock.ts';

/** The timer functions LeaderElector uses: the clock's (its `now` is monotonic and passed apart). */
export type Timers = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

export const realTimers: Timers = systemClock;
