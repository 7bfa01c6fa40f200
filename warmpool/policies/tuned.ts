import { backtest, type Backtest } from './backtest.ts';
import { costaware } from './costaware.ts';
import { histogram } from './histogram.ts';
import { keepalive } from './keepalive.ts';
import { predictive } from './predictive.ts';
import type { Policy, PolicyConfig, PolicyInput } from './types.ts';
import type { HistoryReader } from './demand-history.ts';

/** A policy at one setting that self-tuning may pick. */
interface Candidate {
  readonly label: string;
  readonly policy: Policy;
  readonly knobs: Readonly<Record<string, number>>;
}

const CANDIDATES: readonly Candidate[] = [
  { label: 'keepalive 1 min', policy: keepalive, knobs: { keepAliveMs: 60_000 } },
  { label: 'keepalive 10 min', policy: keepalive, knobs: { keepAliveMs: 600_000 } },
  { label: 'keepalive 1 h', policy: keepalive, knobs: { keepAliveMs: 3_600_000 } },
  { label: 'histogram', policy: histogram, knobs: {} },
  { label: 'predictive', policy: predictive, knobs: {} },
  { label: 'costaware', policy: costaware, knobs: {} },
];

/** How often the candidates are backtested again, and over how much of the past (defaults of the knobs). */
const RETUNE_MS = 10 * 60_000;
const WINDOW_MS = 3_600_000;
/** A challenger replaces the policy in use only when its backtest costs this much less (hysteresis). */
const SWITCH_BELOW = 0.9;
/** Fewer arrivals than this in the window say too little: the prior (costaware's). Knob: tuneMinArrivals. */
const MIN_ARRIVALS = 20;
const DEFAULT_COLD_START_COST = 60;

export interface Tuning {
  /** The candidate in use. */
  readonly choice: string;
  /** Each candidate's backtest at the last retune (empty while on the prior). */
  readonly backtests: ReadonlyMap<string, Backtest>;
  /** Why it is this one. */
  readonly why: string;
}

/**
 * Self-tuning: every ten minutes each candidate (keep-alive 1 min, 10 min, 1 h, histogram, predictive,
 * costaware, all at the deployment's own settings) is backtested on the deployment's last hour with the
 * simulator's engine (backtest.ts) and scored at the deployment's price of a cold start
 * (`coldStartCost`: idle instance-seconds + that × cold starts); the cheapest decides until the next
 * retune, a challenger taking over only when it costs 10% less than the one in use (retunes are
 * staggered across deployments; until the first, the prior decides). With under 20 arrivals in the hour
 * it is costaware (whose memoryless prior keeps an instance about as long as a cold start is worth). The
 * knobs `retuneMs`, `tuneWindowMs` and `tuneMinArrivals` change the period, the window and the least
 * history. The decision's reason names the choice and the backtest's figures.
 */
export const tuned: Policy = {
  name: 'tuned',
  knob: { name: 'coldStartCost', values: [1, 10, 60, 300, 3000] },
  decide(input: PolicyInput) {
    const t = tuningOf(input.history, input.config, input.now);
    const c = CANDIDATES.find((x) => x.label === t.choice)!;
    const d = c.policy.decide({
      ...input,
      config: { ...input.config, knobs: { ...input.config.knobs, ...c.knobs } },
    });
    return { desired: d.desired, reason: `tuned: ${t.choice} (${t.why}); ${d.reason}` };
  },
};

let seen = 0;
function nextPhase(retuneMs: number): number {
  return seen++ === 0 ? 0 : Math.floor(((seen * 0.6180339887) % 1) * retuneMs);
}

/** The tuning in force at `now` (retuned at most every retuneMs; kept in the history's memo). */
export function tuningOf(history: HistoryReader, config: PolicyConfig, now: number): Tuning {
  // A controller following many deployments retunes them at staggered times, not all in one tick: a
  // backtest of an hour costs tens of ms. Phases follow the golden ratio in the order the deployments
  // are first seen, so any number of them spread evenly over the period.
  const retuneMs = config.knobs?.retuneMs ?? RETUNE_MS;
  const windowMs = config.knobs?.tuneWindowMs ?? WINDOW_MS;
  const state = history.memo('tuned:state', 0, Infinity, () => ({
    at: now - retuneMs + nextPhase(retuneMs),
    tuning: {
      choice: 'costaware',
      backtests: new Map(),
      why: 'the prior until the first backtest',
    } as Tuning,
  }));
  if (now - state.at < retuneMs) return state.tuning;
  state.at = now;
  const cost = config.knobs?.coldStartCost ?? DEFAULT_COLD_START_COST;
  const arrivals = history.arrivals(history.closedBefore - windowMs, history.closedBefore);
  if (arrivals < (config.knobs?.tuneMinArrivals ?? MIN_ARRIVALS)) {
    state.tuning = {
      choice: 'costaware',
      backtests: new Map(),
      why: `${arrivals} arrivals in the last ${span(windowMs)}: the prior`,
    };
    return state.tuning;
  }
  const backtests = new Map<string, Backtest>();
  for (const c of CANDIDATES)
    backtests.set(
      c.label,
      backtest(history, config, c.policy, { ...config.knobs, ...c.knobs }, cost, windowMs),
    );
  const ranked = [...backtests].sort((a, b) => a[1].cost - b[1].cost);
  const [best, bestFigures] = ranked[0]!;
  const current = state.tuning.backtests.size === 0 ? undefined : state.tuning.choice;
  const held = current === undefined ? undefined : backtests.get(current);
  const choice = held !== undefined && bestFigures.cost >= SWITCH_BELOW * held.cost ? current! : best;
  const f = backtests.get(choice)!;
  const runnerUp = ranked.find(([label]) => label !== choice)!;
  state.tuning = {
    choice,
    backtests,
    why: `last ${span(windowMs)}: ${Math.round(f.idleSeconds)} idle s + ${f.coldStarts} cold × ${cost} s = ${Math.round(f.cost)}; next ${runnerUp[0]} ${Math.round(runnerUp[1].cost)}`,
  };
  return state.tuning;
}

const span = (ms: number) =>
  ms === 3_600_000 ? 'hour' : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
