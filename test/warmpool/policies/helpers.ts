import {
  DemandHistory,
  type HistoryOptions,
  type PolicyConfig,
  type PoolState,
} from '../../../warmpool/policies/index.ts';
import { mulberry32 } from '../../../warmpool/sim/prng.ts';

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** A fixed epoch so that minute and day boundaries fall where the tests say. */
export const T0 = Date.UTC(2026, 0, 5);

export function config(o: Partial<PolicyConfig> = {}): PolicyConfig {
  return {
    coldStartMs: 10_000,
    capacityPerInstance: 1,
    serviceMs: 1000,
    minInstances: 0,
    maxInstances: 100,
    tickMs: 2000,
    ...o,
  };
}

export function pool(o: Partial<PoolState> = {}): PoolState {
  return { instances: 0, ready: 0, inFlight: 0, queued: 0, ...o };
}

/** A history holding `times` (sorted), advanced to `until`. */
export function historyOf(times: readonly number[], until: number, o?: HistoryOptions): DemandHistory {
  const h = new DemandHistory(o);
  for (const t of times) h.add(t);
  h.advance(until);
  return h;
}

/** Arrival times `start + k * every` for k in [0, n). */
export function every(start: number, everyMs: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => start + k * everyMs);
}

/**
 * Two traffic shapes one deployment goes through, for self-tuning tests: calls at random, 40 s apart
 * on average, in [T0, T0 + 70 min) (each seen in flight once); then, from T0 + 82 min, ten bursts of
 * 20 calls 8 minutes apart and nothing between. `until` picks which: 'random' adds the first only.
 */
export function addShapes(h: DemandHistory, until: 'random' | 'bursts'): void {
  if (until === 'random') {
    const rand = mulberry32(5);
    for (let t = T0; t < T0 + 70 * MIN; t += Math.round(-Math.log(1 - rand()) * 40_000)) {
      h.add(t);
      h.observeConcurrency(t, 1);
    }
    return;
  }
  for (let k = 0; k < 10; k++) {
    const b = T0 + 82 * MIN + k * 8 * MIN;
    for (let i = 0; i < 20; i++) h.add(b + i * 100);
    h.advance(b + 2100);
  }
}
