import { createHash } from 'node:crypto';
import {
  declaredTraffic,
  type DeploymentSpec,
  stableVersion,
  type TrafficTarget,
} from '../deployments/index.ts';

/**
 * The split requests follow now: a version's weight counts only while it has a ready instance; the
 * weight of one that has none goes to the stable version, so a version that never becomes ready takes
 * no request. Versions of zero weight are left out.
 */
export function effectiveTraffic(d: DeploymentSpec, ready: (version: number) => boolean): TrafficTarget[] {
  const stable = stableVersion(d);
  let moved = 0;
  const out: TrafficTarget[] = [];
  for (const t of declaredTraffic(d)) {
    if (t.version !== stable && !ready(t.version)) moved += t.weight;
    else if (t.weight > 0) out.push({ ...t });
  }
  if (moved === 0) return out;
  const own = out.find((t) => t.version === stable);
  if (own) own.weight += moved;
  else out.unshift({ version: stable, weight: moved });
  return out;
}

/**
 * The version whose slice of [0, 1) holds `point`, slices laid out in the split's order with widths
 * of their weights. Null for an empty split.
 */
export function versionAt(split: readonly TrafficTarget[], point: number): number | null {
  const total = split.reduce((s, t) => s + t.weight, 0);
  if (total <= 0) return null;
  let edge = 0;
  for (const t of split) {
    edge += t.weight / total;
    if (point < edge) return t.version;
  }
  return split[split.length - 1]!.version;
}

/**
 * A client's fixed point in [0, 1): the same id lands in the same slice whatever the gateway replica,
 * so one client sees one version while the weights hold (and moves only across the slices that change).
 */
export function stickyPoint(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}
