import type { FirstTokenSummary } from '../../gateway/demand-board/index.ts';
import type { HistoryReader } from '../policies/index.ts';
import { type CapacityAtSlo, capacityAt, observeFirstTokens, UNBOUNDED } from './capacity-at-slo.ts';
import type { Measured } from './policy-target.ts';

const WINDOW_MS = 5 * 60_000;
const KEPT_COLD_STARTS = 5;

/**
 * What the controller has measured of a deployment for its policy, carried from tick to tick: cold
 * starts as its pools saw them, concurrency samples for the mean time in flight (Little's law over the
 * last 5 minutes), and the concurrency an instance serves within the TTFT SLO (capacity-at-slo.ts).
 * A value: each `with…` returns the next one (or the same when nothing changed).
 */
export interface MeasuredState {
  /** Until measured. */
  readonly defaults: { readonly coldStartMs: number; readonly serviceMs: number };
  /** The last few cold starts, oldest first. */
  readonly coldStarts: readonly number[];
  /** Instances whose cold start is counted (each once). */
  readonly counted: ReadonlySet<string>;
  /** (at, inFlight) samples, one per tick, oldest first. */
  readonly samples: readonly (readonly [number, number])[];
  readonly capacity: CapacityAtSlo;
}

export function unmeasured(defaults: { coldStartMs: number; serviceMs: number }): MeasuredState {
  return { defaults, coldStarts: [], counted: new Set(), samples: [], capacity: UNBOUNDED };
}

/** The instances' measured cold starts, each instance counted once. */
export function withColdStarts(
  m: MeasuredState,
  instances: readonly { readonly id: string; readonly coldStartMs?: number }[],
): MeasuredState {
  const fresh = instances.filter((i) => i.coldStartMs !== undefined && !m.counted.has(i.id));
  if (fresh.length === 0) return m;
  const counted = new Set(m.counted);
  const coldStarts = [...m.coldStarts];
  for (const i of fresh) {
    if (counted.has(i.id)) continue; // listed twice
    counted.add(i.id);
    coldStarts.push(i.coldStartMs!);
    if (coldStarts.length > KEPT_COLD_STARTS) coldStarts.shift();
  }
  return { ...m, counted, coldStarts };
}

/** A tick's requests in flight, kept for the last 5 minutes. */
export function withInFlight(m: MeasuredState, at: number, n: number): MeasuredState {
  const samples = [...m.samples, [at, n] as const];
  let old = 0;
  while (old < samples.length && samples[old]![0] < at - WINDOW_MS) old++;
  return { ...m, samples: old ? samples.slice(old) : samples };
}

/** A tick's view of the instances: requests in flight per ready one, and the recent first tokens. */
export function withFirstTokens(
  m: MeasuredState,
  at: number,
  perInstance: number,
  firstToken: FirstTokenSummary,
  sloMs: number,
): MeasuredState {
  const capacity = observeFirstTokens(m.capacity, at, perInstance, firstToken, sloMs);
  return capacity === m.capacity ? m : { ...m, capacity };
}

/**
 * What the policy is told at `at`. `capacity`: the deployment's declared capacity per instance (taken as
 * is), or its instances' concurrency limit, the ceiling of what is measured at the SLO. `next`: the state
 * with a bound forgotten, if it expired.
 */
export function measuredAt(
  m: MeasuredState,
  history: HistoryReader | undefined,
  at: number,
  capacity: { declared?: number; ceiling: number },
): { readonly measured: Measured; readonly next: MeasuredState } {
  let next = m;
  let capacityPerInstance: number;
  if (capacity.declared !== undefined) capacityPerInstance = capacity.declared;
  else {
    const c = capacityAt(m.capacity, at, capacity.ceiling);
    capacityPerInstance = c.capacity;
    if (c.next !== m.capacity) next = { ...m, capacity: c.next };
  }
  const boundBySlo = capacity.declared === undefined && capacityPerInstance < capacity.ceiling;
  const cold = [...m.coldStarts].sort((a, b) => a - b);
  const coldStartMs = cold.length ? cold[cold.length >> 1]! : m.defaults.coldStartMs;
  let serviceMs = m.defaults.serviceMs;
  const span = m.samples.length ? at - m.samples[0]![0] : 0;
  const arrivals = history && span > 0 ? history.arrivals(at - span, at) : 0;
  if (arrivals > 0) {
    const meanInFlight = m.samples.reduce((a, [, n]) => a + n, 0) / m.samples.length;
    serviceMs = Math.min(600_000, Math.max(1, (meanInFlight * span) / arrivals));
  }
  return {
    measured: { coldStartMs, serviceMs, capacityPerInstance, ...(boundBySlo && { boundBySlo }) },
    next,
  };
}
