import { type DeploymentSpec, pinnedVersion, stableVersion, versionPool } from '../deployments/index.ts';
import { ApiError } from '../errors/index.ts';
import { effectiveTraffic, stickyPoint, versionAt } from './traffic-split.ts';

/** A model name as a request gives it: the deployment, and the version after `@` when it pins one. */
export function splitModelName(model: string): { name: string; version?: number } {
  const at = model.lastIndexOf('@');
  if (at < 0) return { name: model };
  const name = model.slice(0, at);
  const digits = model.slice(at + 1);
  if (!/^[1-9][0-9]{0,6}$/.test(digits))
    throw new ApiError('version_not_found', `'${model}': a version is a number, as in '${name}@2'`, {
      param: 'model',
    });
  return { name, version: Number(digits) };
}

export interface VersionChoice {
  readonly version: number;
  /** The pool of instances that serves it. */
  readonly pool: string;
}

/**
 * The version a request runs on: the one it pins, else its client's slice of the split (the split
 * counting only versions with a ready instance), else a random slice when the client is anonymous.
 */
export function chooseVersion(
  d: DeploymentSpec,
  pinned: number | undefined,
  client: string | null,
  ready: (pool: string) => boolean,
  random: () => number = Math.random,
): VersionChoice {
  let version: number;
  if (pinned !== undefined) version = pinnedVersion(d, pinned);
  else if (d.traffic === undefined) version = stableVersion(d);
  else {
    const split = effectiveTraffic(d, (v) => ready(versionPool(d.name, v)));
    version = versionAt(split, client === null ? random() : stickyPoint(client)) ?? stableVersion(d);
  }
  return { version, pool: versionPool(d.name, version) };
}
