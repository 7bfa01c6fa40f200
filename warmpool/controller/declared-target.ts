import type { ScalingPolicy } from '../../gateway/deployments/index.ts';
import type { Target } from './target.ts';

/**
 * What the declared target is computed from, when the controller has no request history to run a policy
 * on; a plain object so that other demand terms can replace `inUse`.
 */
export interface DeclaredTargetInput {
  readonly scaling: ScalingPolicy;
  /** Instances' worth of work being served now. */
  readonly inUse: number;
  /** Requests waiting for capacity (the activator's queue). */
  readonly queued?: number;
  /** Instances the pool has now (not draining, not failed); capacity kept during keep-alive. */
  readonly current?: number;
  /** When the last request arrived; undefined when none has. */
  readonly lastRequestAt?: number;
  readonly now: number;
  /** Whether an idle deployment with minInstances 0 may go to zero instances. */
  readonly scaleToZero: boolean;
}

const clamp = (n: number, max: number) => Math.max(0, Math.min(n, max));

/**
 * How many instances a deployment should have: max(minInstances, demand + warmBuffer), clamped to
 * maxInstances. Capacity above that is kept until keepAliveMs after the last request; an idle
 * deployment goes to zero only when allowed and minInstances is 0. Queued requests count as at least
 * one instance of demand, so a deployment at zero scales up at once.
 */
export function declaredTarget(i: DeclaredTargetInput): Target {
  const { minInstances, maxInstances, warmBuffer, keepAliveMs } = i.scaling;
  const queued = i.queued ?? 0;
  const demand = Math.max(i.inUse, queued > 0 ? 1 : 0);
  const base = clamp(Math.max(minInstances, demand + warmBuffer), maxInstances);
  const inKeepAlive = i.lastRequestAt !== undefined && i.now - i.lastRequestAt < keepAliveMs;
  const held = clamp(i.current ?? 0, maxInstances);
  const why = `inUse ${i.inUse}, queued ${queued}, min ${minInstances}, buffer ${warmBuffer}, max ${maxInstances}`;

  if (demand > 0) {
    if (inKeepAlive && held > base) return { desired: held, reason: `keep-alive: holding ${held} (${why})` };
    const atZero = (i.current ?? 0) === 0 && queued > 0 ? 'scale up from zero: ' : '';
    return { desired: base, reason: `${atZero}max(min, demand + buffer) = ${base} (${why})` };
  }
  if (inKeepAlive) {
    const left = i.lastRequestAt! + keepAliveMs - i.now;
    return held > base
      ? { desired: held, reason: `keep-alive: holding ${held} for ${left} ms more (${why})` }
      : { desired: base, reason: `idle within keep-alive: max(min, buffer) = ${base} (${why})` };
  }
  if (i.scaleToZero && minInstances === 0)
    return { desired: 0, reason: `scale to zero: idle, keep-alive expired (${why})` };
  return { desired: base, reason: `idle: max(min, buffer) = ${base} (${why})` };
}
