import { ApiError } from '../errors/index.ts';
import { checkDeployment, type DeploymentSpec } from './spec.ts';
import { type TrafficTarget } from './version-fields.ts';

/** Whether the deployment runs more than one version, or names its stable one (then it is judged per version). */
export function hasVersions(d: DeploymentSpec): boolean {
  return d.versions !== undefined || d.traffic !== undefined || d.version !== undefined;
}

/** The stable version's number. */
export function stableVersion(d: DeploymentSpec): number {
  return d.version ?? 1;
}

/**
 * The pool of instances a version runs on. Version 1 keeps the deployment's own name, so a deployment
 * that gains versions keeps its warm instances; a pool belongs to a version, whichever is stable.
 */
export function versionPool(name: string, version: number): string {
  return version === 1 ? name : `${name}@${version}`;
}

/**
 * The pools that take the deployment's unpinned calls: each version the split gives a weight, else the
 * stable one's. Health, readiness and the ready-instance gauge count these, not version 1's pool alone.
 */
export function servingPools(d: DeploymentSpec): string[] {
  return declaredTraffic(d)
    .filter((t) => t.weight > 0)
    .map((t) => versionPool(d.name, t.version));
}

/** Every version the deployment lists, the stable one first. */
export function versionNumbers(d: DeploymentSpec): number[] {
  return [stableVersion(d), ...(d.versions ?? []).map((v) => v.version)];
}

/** The traffic split as declared: the traffic section, else all of it to the stable version. */
export function declaredTraffic(d: DeploymentSpec): TrafficTarget[] {
  return d.traffic ?? [{ version: stableVersion(d), weight: 100 }];
}

/**
 * The deployment as one version runs it: its pool's name, its model, runtime, batching and scaling
 * (each left out taken from the stable version), no versions of its own.
 */
export function versionDeployment(d: DeploymentSpec, version: number): DeploymentSpec {
  const base: DeploymentSpec = { ...d };
  delete base.version;
  delete base.versions;
  delete base.traffic;
  delete base.rollout;
  if (version === stableVersion(d)) return { ...base, name: versionPool(d.name, version) };
  const v = d.versions?.find((x) => x.version === version);
  if (v === undefined) throw new Error(`deployment '${d.name}' has no version ${version}`);
  return {
    ...base,
    name: versionPool(d.name, version),
    model: v.model,
    ...(v.runtime !== undefined && { runtime: v.runtime }),
    ...(v.batching !== undefined && { batching: v.batching }),
    scaling: { ...d.scaling, ...v.scaling },
  };
}

/**
 * The version a request names (`name@3`, or KServe's /versions/3): version_not_found for one the
 * deployment never had, version_retired for one it had and no longer lists.
 */
export function pinnedVersion(d: DeploymentSpec, version: number): number {
  const listed = versionNumbers(d);
  if (listed.includes(version)) return version;
  const newest = Math.max(...listed, ...(d.rollout?.history ?? []).map((e) => Math.max(e.from, e.to)));
  if (Number.isInteger(version) && version >= 1 && version < newest)
    throw new ApiError(
      'version_retired',
      `version ${version} of '${d.name}' is retired: call '${d.name}' or one of its versions ${listed.join(', ')}`,
      { param: 'model' },
    );
  throw new ApiError(
    'version_not_found',
    `'${d.name}' has no version ${version}: its versions are ${listed.join(', ')}`,
    { param: 'model' },
  );
}

/**
 * checkDeployment (spec.ts), then what it cannot say of versions: version numbers are distinct, each version is a valid deployment of its
 * own (its fields are checked as the stable's are, by `checkOne`), and the traffic names listed
 * versions with weights that sum to 100.
 */
function checkVersions(d: DeploymentSpec, fail: (param: string, message: string) => never): void {
  if (d.versions === undefined && d.traffic === undefined) return;
  if (d.kind === 'adapter') fail('versions', 'an adapter has no versions: version its base');
  const numbers = versionNumbers(d);
  const seen = new Set<number>();
  for (const n of numbers) {
    if (seen.has(n))
      fail('versions', `version ${n} is listed twice (the stable version is ${stableVersion(d)})`);
    seen.add(n);
  }
  for (const [i, v] of (d.versions ?? []).entries()) {
    try {
      checkDeployment({ ...versionDeployment(d, v.version), name: d.name });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      fail(`versions.${i}.${e.param ?? ''}`, `version ${v.version}: ${e.message}`);
    }
  }
  if (d.traffic === undefined) return;
  let sum = 0;
  const named = new Set<number>();
  for (const t of d.traffic) {
    if (!seen.has(t.version))
      fail('traffic', `traffic names version ${t.version}, which is not listed: list it in versions first`);
    if (named.has(t.version)) fail('traffic', `traffic names version ${t.version} twice`);
    named.add(t.version);
    sum += t.weight;
  }
  if (sum !== 100) fail('traffic', `traffic weights must sum to 100, not ${sum}`);
}

/** checkDeployment and the version checks: what the admin API and the stores accept. */
export function checkVersionedDeployment(received: unknown): DeploymentSpec {
  const d = checkDeployment(received);
  checkVersions(d, (param, message) => {
    throw new ApiError('deployment_invalid', message, { param });
  });
  return d;
}
