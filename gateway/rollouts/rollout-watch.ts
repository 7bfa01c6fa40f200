import {
  CANARY_ANALYSIS_DEFAULTS,
  type DeploymentRegistry,
  type DeploymentSpec,
  stableVersion,
  versionPool,
} from '../deployments/index.ts';
import { type Clock, unrefTimer } from '../../runtime/time/clock.ts';
import { type CanaryVerdict, canaryVerdict } from './canary-verdict.ts';
import { canaryOf, rollback } from './rollout-steps.ts';
import type { VersionStats } from './version-stats.ts';

export interface RolloutWatchOptions {
  readonly deployments: DeploymentRegistry;
  readonly stats: VersionStats;
  readonly ready: (pool: string) => boolean;
  readonly clock: Clock;
  /** Default 1000 ms. */
  readonly intervalMs?: number;
  readonly log?: (message: string) => void;
}

/** The verdict on a deployment's canary now; null when it has none. */
export function judgeCanary(
  d: DeploymentSpec,
  stats: VersionStats,
  ready: (pool: string) => boolean,
  now: number,
): CanaryVerdict | null {
  const canary = canaryOf(d);
  if (canary === null) return null;
  const analysis = { ...CANARY_ANALYSIS_DEFAULTS, ...d.rollout?.analysis };
  const step = [...(d.rollout?.history ?? [])]
    .reverse()
    .find((e) => e.action === 'rollout' && e.to === canary);
  const pool = versionPool(d.name, canary);
  return canaryVerdict(
    analysis,
    stats.figures(versionPool(d.name, stableVersion(d)), now, analysis.windowMs),
    { figures: stats.figures(pool, now, analysis.windowMs), since: step?.at ?? now, ready: ready(pool) },
    now,
  );
}

/**
 * Judges every canary each interval and rolls back the ones the verdict refuses (a put, which every
 * replica follows). The decision is canary-verdict.ts's; this only brings the figures in and acts.
 * Returns the function that stops it.
 */
export function startRolloutWatch(o: RolloutWatchOptions): () => void {
  let busy = false;
  const check = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const d of o.deployments.list()) await judge(d);
    } finally {
      busy = false;
    }
  };
  // One deployment's failed rollback does not keep the others' canaries from being judged.
  const judge = async (d: DeploymentSpec) => {
    const canary = canaryOf(d);
    if (canary === null) return;
    const now = o.clock.now();
    // Judged on every replica's requests, not this one's slice (a no-op for one gateway's own stats).
    const { windowMs } = { ...CANARY_ANALYSIS_DEFAULTS, ...d.rollout?.analysis };
    await o.stats.refresh(
      [versionPool(d.name, stableVersion(d)), versionPool(d.name, canary)],
      now,
      windowMs,
    );
    const verdict = judgeCanary(d, o.stats, o.ready, now);
    if (verdict?.action !== 'rollback') return;
    try {
      // Rolled back only if the store still holds the canary judged: a promote or a new step that
      // another gateway wrote meanwhile stands.
      const next = await o.deployments.update(d.name, (current) =>
        canaryOf(current) === canary && sameStep(current, d)
          ? rollback(current, now, `automatic: ${verdict.reason}`)
          : current,
      );
      if (canaryOf(next) !== canary) o.log?.(`rollouts: rolled back '${d.name}': ${verdict.reason}`);
    } catch (e) {
      o.log?.(`rollouts: rolling back '${d.name}' failed: ${(e as Error).message}`);
    }
  };
  const timer = unrefTimer(o.clock.setInterval(() => void check(), o.intervalMs ?? 1000));
  return () => o.clock.clearInterval(timer);
}

/** Whether two copies of a deployment end their rollout history with the same step (the history is capped). */
function sameStep(a: DeploymentSpec, b: DeploymentSpec): boolean {
  return JSON.stringify(a.rollout?.history?.at(-1)) === JSON.stringify(b.rollout?.history?.at(-1));
}
