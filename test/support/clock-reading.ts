// A Clock whose now() is read from a function the test controls, with the system's monotonic time and
// real timers: for tests that set the time by hand (`let t = T0; ... t += 1000`) and let the timers of
// the code under test run as they would in production.
import { type Clock, systemClock } from '../../runtime/time/clock.ts';

export function clockReading(now: () => number): Clock {
  return { ...systemClock, now };
}
