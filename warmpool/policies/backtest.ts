import { RunMetrics } from '../sim/engine/metrics.ts';
import { simulateDeployment } from '../sim/engine/deployment-sim.ts';
import type { HistoryReader } from './demand-history.ts';
import type { Policy, PolicyConfig } from './types.ts';

/** One candidate's figures over the window replayed. */
export interface Backtest {
  readonly coldStarts: number;
  readonly idleSeconds: number;
  /** idle instance-seconds + coldStartCost × cold starts. */
  readonly cost: number;
}

/** The tick the replays run at: the simulator's (a live 500 ms tick would cost 4x for little). */
const BACKTEST_TICK_MS = 2000;

/**
 * Replays the deployment's last `windowMs` of arrivals (its fine history: each bucket's arrivals spread
 * evenly within it, each served in the measured mean service time) through the simulator's engine, the
 * same code `npm run sim` runs, under `policy` with `knobs`; scored at `coldStartCost` seconds per
 * cold-started request. Every candidate starts the window with no instance and an empty history, so the
 * comparison is even.
 */
export function backtest(
  history: HistoryReader,
  config: PolicyConfig,
  policy: Policy,
  knobs: Readonly<Record<string, number>>,
  coldStartCost: number,
  windowMs: number,
): Backtest {
  const fine = history.fineMs;
  const end = history.closedBefore;
  const start = end - windowMs;
  const counts = history.series(start, end, fine);
  const at: number[] = [];
  counts.forEach((c, i) => {
    for (let k = 0; k < c; k++) at.push(start + i * fine + ((k + 0.5) / c) * fine);
  });
  const service = new Float64Array(at.length).fill(Math.max(1, config.serviceMs));
  const metrics = new RunMetrics(start, end, BACKTEST_TICK_MS);
  simulateDeployment(
    policy,
    {
      coldStartMs: config.coldStartMs,
      slots: Math.max(1, Math.round(config.capacityPerInstance)),
      tickMs: BACKTEST_TICK_MS,
      maxInstances: config.maxInstances,
      knobs,
      startMs: start,
      endMs: end,
    },
    config.serviceMs,
    { at: Float64Array.from(at), serviceMs: service },
    metrics,
  );
  const s = metrics.summary();
  return {
    coldStarts: s.cold_starts,
    idleSeconds: s.idle_instance_seconds,
    cost: s.idle_instance_seconds + coldStartCost * s.cold_starts,
  };
}
