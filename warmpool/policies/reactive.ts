import type { Policy, PolicyInput } from './types.ts';
import { clampInstances, instancesFor } from './capacity.ts';

const DEFAULTS = {
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  targetUtilization: 0.7,
  panicThreshold: 2,
  // Knative's default grace is 30 s; with cold starts of several seconds that already trades few
  // cold starts for little idle time, and it is the knob swept for the Pareto curve.
  scaleToZeroGraceMs: 30_000,
} as const;

/**
 * Knative-KPA-like reactive scaling: the stable window's average concurrency sets the size; the panic
 * window's (which also counts what is in flight and queued now) takes over when it asks for at least
 * `panicThreshold` times the ready instances, and in panic the pool never shrinks. After
 * `scaleToZeroGraceMs` without arrivals and nothing in flight it goes to zero. Stateless: panic lasts
 * while its condition holds (KPA also keeps it for a stable window; here the stable average does that
 * smoothing). Knobs: stableWindowMs, panicWindowMs, targetUtilization, panicThreshold,
 * scaleToZeroGraceMs (swept).
 */
export const reactive: Policy = {
  name: 'reactive',
  knob: {
    name: 'scaleToZeroGraceMs',
    values: [0, 10_000, 30_000, 60_000, 2 * 60_000, 5 * 60_000, 10 * 60_000],
  },
  decide(input: PolicyInput) {
    return reactiveDecision(input);
  },
};

/** The reactive decision; `predictive` reuses it as its fallback. */
export function reactiveDecision({ config, history, pool, now }: PolicyInput, graceMs?: number) {
  const k = { ...DEFAULTS, ...config.knobs };
  const grace = graceMs ?? k.scaleToZeroGraceMs;
  const current = pool.inFlight + pool.queued;
  const perInstance = config.capacityPerInstance * k.targetUtilization;
  const stable = Math.max(history.concurrency(now - k.stableWindowMs, now), 0);
  // The panic window also sees the demand now, so a burst is answered at the tick it arrives.
  const panic = Math.max(history.concurrency(now - k.panicWindowMs, now), current);
  const stableWant = Math.ceil(stable / perInstance - 1e-9);
  const panicWant = Math.ceil(panic / perInstance - 1e-9);
  const inPanic = panicWant > 0 && panicWant >= k.panicThreshold * Math.max(pool.ready, 1);
  let want = inPanic
    ? Math.max(panicWant, pool.instances)
    : Math.max(stableWant, instancesFor(current, config));
  const last = history.lastArrivalAt;
  const recent = last !== undefined && now - last < grace;
  if (recent) want = Math.max(want, 1);
  const desired = clampInstances(want, config);
  const mode = inPanic ? 'panic' : 'stable';
  const idle =
    want === 0
      ? `; no traffic for ${last === undefined ? 'ever' : `${now - last} ms`} ≥ grace ${grace} ms`
      : '';
  return {
    desired,
    reason: `reactive ${mode}: stable ${stable.toFixed(2)} panic ${panic.toFixed(2)} concurrency, ready ${pool.ready}${idle}; ${desired}`,
  };
}
