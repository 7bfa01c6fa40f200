import {
  type DeploymentSpec,
  HISTORY_KEPT,
  pinnedVersion,
  type RolloutEvent,
  stableVersion,
  type VersionSpec,
} from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';

/*
 * The steps of a rollout, each a pure change of the spec (the admin API stores the result, like any
 * other put). A step is recorded in the spec's rollout history with its time and reason.
 */

/** The version of the split other than the stable one that has the most weight; null when none has. */
export function canaryOf(d: DeploymentSpec): number | null {
  const stable = stableVersion(d);
  let best: { version: number; weight: number } | null = null;
  for (const t of d.traffic ?? [])
    if (t.version !== stable && t.weight > 0 && (best === null || t.weight > best.weight)) best = t;
  return best?.version ?? null;
}

/** `weight` percent of requests to version `to`, the rest to the stable version. */
export function rollout(d: DeploymentSpec, to: number, weight: number, now: number): DeploymentSpec {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100)
    throw new ApiError('invalid_request', `weight must be an integer from 0 to 100, not ${weight}`, {
      param: 'weight',
    });
  const version = pinnedVersion(d, to);
  const stable = stableVersion(d);
  if (version === stable)
    throw new ApiError(
      'invalid_request',
      `version ${to} is already the stable version of '${d.name}': roll out another, or roll back`,
      { param: 'to' },
    );
  const traffic = [
    { version: stable, weight: 100 - weight },
    { version, weight },
  ];
  return note({ ...d, traffic }, { at: now, action: 'rollout', from: stable, to: version, weight });
}

/**
 * The canary (or `to`) becomes the stable version with all the traffic; the former stable is kept as a
 * version of no weight, for a rollback.
 */
export function promote(d: DeploymentSpec, now: number, to?: number): DeploymentSpec {
  const target = to === undefined ? canaryOf(d) : pinnedVersion(d, to);
  const stable = stableVersion(d);
  if (target === null || target === stable)
    throw new ApiError(
      'invalid_request',
      `'${d.name}' has no canary to promote: roll one out first (POST .../rollout { to, weight })`,
      { param: 'to' },
    );
  return note(swapStable(d, target), { at: now, action: 'promote', from: stable, to: target });
}

/**
 * With a canary taking traffic: all of it back to the stable version. Without one: the stable version
 * before the last promotion becomes stable again, if it is still listed.
 */
export function rollback(d: DeploymentSpec, now: number, reason?: string): DeploymentSpec {
  const stable = stableVersion(d);
  const canary = canaryOf(d);
  const why = reason === undefined ? {} : { reason };
  if (canary !== null) {
    const back: DeploymentSpec = { ...d };
    delete back.traffic;
    return note(back, { at: now, action: 'rollback', from: stable, to: stable, ...why });
  }
  const promoted = [...(d.rollout?.history ?? [])].reverse().find((e) => e.action === 'promote');
  const previous = promoted?.to === stable ? promoted.from : undefined;
  if (previous === undefined || !(d.versions ?? []).some((v) => v.version === previous))
    throw new ApiError(
      'invalid_request',
      `'${d.name}' has no canary and no earlier stable version to roll back to`,
      { param: 'name' },
    );
  return note(swapStable(d, previous), { at: now, action: 'rollback', from: stable, to: previous, ...why });
}

/** `target` becomes the stable version (its fields the deployment's own); the stable one a version. */
function swapStable(d: DeploymentSpec, target: number): DeploymentSpec {
  const next = d.versions!.find((v) => v.version === target)!;
  const former: VersionSpec = {
    version: stableVersion(d),
    model: d.model!, // a deployment with versions has a model (pipelines have neither)
    ...(d.runtime !== undefined && { runtime: d.runtime }),
    ...(d.batching !== undefined && { batching: d.batching }),
    scaling: d.scaling,
  };
  const swapped: DeploymentSpec = {
    ...d,
    version: target,
    model: next.model,
    scaling: { ...d.scaling, ...next.scaling },
    versions: [...d.versions!.filter((v) => v.version !== target), former],
  };
  delete swapped.traffic;
  if (next.runtime !== undefined) swapped.runtime = next.runtime;
  if (next.batching !== undefined) swapped.batching = next.batching;
  return swapped;
}

/**
 * A deployment put with a canary in its traffic that its history does not show being rolled out (written
 * by hand, or from a file): the step is recorded as declared now, so that the canary's progress deadline
 * and analysis window run from when it took traffic, not from whenever they are read.
 */
export function withDeclaredRollout(
  previous: DeploymentSpec | undefined,
  d: DeploymentSpec,
  now: number,
): DeploymentSpec {
  const canary = canaryOf(d);
  if (canary === null) return d;
  const weight = d.traffic!.find((t) => t.version === canary)!.weight;
  const before = previous === undefined ? null : canaryOf(previous);
  const same = before === canary && previous!.traffic!.find((t) => t.version === canary)!.weight === weight;
  const last = [...(d.rollout?.history ?? [])].reverse().find((e) => e.action === 'rollout');
  if (same || (last?.to === canary && last.weight === weight)) return d;
  const event: RolloutEvent = { at: now, action: 'rollout', from: stableVersion(d), to: canary, weight };
  return note(d, { ...event, reason: 'declared in the deployment' });
}

function note(d: DeploymentSpec, event: RolloutEvent): DeploymentSpec {
  const history = [...(d.rollout?.history ?? []), event].slice(-HISTORY_KEPT);
  return { ...d, rollout: { ...d.rollout, history } };
}
