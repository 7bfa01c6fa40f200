import type { PolicyConfig } from './types.ts';

/** Instances that serve `concurrency` requests at once within the SLO (0 for none). */
export function instancesFor(concurrency: number, config: PolicyConfig): number {
  return concurrency <= 0 ? 0 : Math.ceil(concurrency / config.capacityPerInstance - 1e-9);
}

/** Clamps to [minInstances, maxInstances]. */
export function clampInstances(n: number, config: PolicyConfig): number {
  return Math.max(config.minInstances, Math.min(config.maxInstances, n));
}

/** Concurrency that an arrival rate (per second) keeps busy: Little's law with the mean service time. */
export function concurrencyOf(ratePerSecond: number, config: PolicyConfig): number {
  return (ratePerSecond * config.serviceMs) / 1000;
}
