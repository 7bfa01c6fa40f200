import {
  declaredTraffic,
  type DeploymentSpec,
  hasVersions,
  stableVersion,
  versionDeployment,
  versionNumbers,
  versionPool,
} from '../../gateway/deployments/index.ts';
import { effectiveTraffic } from '../../gateway/rollouts/index.ts';

/** One version of a deployment as the controller runs it: a pool of its own. */
export interface VersionPoolSpec {
  /** The version as a deployment: its pool's name, its model, runtime and scaling. */
  readonly spec: DeploymentSpec;
  /** The deployment it belongs to (its history is the deployment's). */
  readonly deployment: string;
  /** Percent of the deployment's demand it is sized for: 100 for a deployment without versions. */
  readonly share: number;
}

/**
 * The pools a deployment runs, one per version it lists. The stable version is sized for the share it
 * serves now (its own weight, plus that of versions with no ready instance yet); any other version for
 * its declared weight, so a new version starts its instances before it takes a request. A version of no
 * weight is sized 0 (it drains, or serves only requests that pin it).
 */
export function versionPools(d: DeploymentSpec, ready: (pool: string) => boolean): VersionPoolSpec[] {
  if (!hasVersions(d)) return [{ spec: d, deployment: d.name, share: 100 }];
  const stable = stableVersion(d);
  const now = effectiveTraffic(d, (v) => ready(versionPool(d.name, v)));
  const declared = declaredTraffic(d);
  return versionNumbers(d).map((v) => ({
    spec: versionDeployment(d, v),
    deployment: d.name,
    share:
      v === stable
        ? (now.find((t) => t.version === v)?.weight ?? 0)
        : (declared.find((t) => t.version === v)?.weight ?? 0),
  }));
}

/**
 * A version pool's target from the target for the whole deployment's demand: its share of it, at least
 * one instance while it has a share (so it can become ready); one of no share keeps one instance while
 * requests wait on it or for its keep-alive after its last request (a version just demoted stays warm
 * for a rollback), then drains; within its own min and max.
 */
export function shareOfTarget(
  whole: number,
  share: number,
  scaling: DeploymentSpec['scaling'],
  waiting: number,
  idleMs = Infinity,
): number {
  if (share >= 100) return whole;
  const part = Math.ceil((whole * share) / 100);
  const recent = waiting > 0 || idleMs < scaling.keepAliveMs;
  const floor = share > 0 ? Math.max(1, scaling.minInstances) : recent ? 1 : 0;
  return Math.min(scaling.maxInstances, Math.max(part, floor));
}
