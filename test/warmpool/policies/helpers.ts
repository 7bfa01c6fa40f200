import {
  DemandHistory,
  type HistoryOptions,
  type PolicyConfig,
  type PoolState,
} from '../../../warmpool/policies/index.ts';

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
