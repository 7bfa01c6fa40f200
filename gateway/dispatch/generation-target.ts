import {
  type AdapterRef,
  adapterRef,
  type DeploymentRegistry,
  type DeploymentSpec,
  DEFAULT_STICKY_HEADER,
} from '../deployments/index.ts';
import { apiKeyId } from '../auth/index.ts';
import type { InstanceTable } from '../instances/index.ts';
import { chooseVersion, splitModelName } from '../rollouts/index.ts';

/** What a generation is called as, and where it runs. */
export interface GenerationTarget {
  /** The deployment called: the request's history, metrics and key checks are its own. */
  readonly name: string;
  readonly spec: DeploymentSpec;
  /** The pool of instances that runs it: the chosen version's; for an adapter, its base's, chosen alike. */
  readonly pool: string;
  /** The version chosen; null for an adapter. */
  readonly version: number | null;
  /** The adapter the instance applies; null for the base model. */
  readonly adapter: AdapterRef | null;
  /** The conversation the request continues (header x-warmgate-session); routing keeps it on one instance. */
  readonly session?: string | undefined;
}

/** How a request picks among a deployment's versions. */
export interface VersionPick {
  /** The client's sticky id: the value of the deployment's sticky header, else its API key; null: anonymous. */
  readonly client: (stickyHeader: string) => string | null;
  /** Whether a pool has a ready instance. */
  readonly ready: (pool: string) => boolean;
}

/**
 * A generative deployment or an adapter by name (`name@3` pins a version); null for a tensor
 * deployment, a pipeline or none. Throws version_not_found or version_retired for a bad pin.
 */
export function generationTarget(
  deployments: DeploymentRegistry,
  model: string,
  /** Required: a pick that took every pool for ready would send requests to a version not ready yet. */
  pick: VersionPick,
): GenerationTarget | null {
  const { name, version: pinned } = splitModelName(model);
  const spec = deployments.get(name);
  if (spec === undefined || spec.kind === 'tensor' || spec.kind === 'pipeline') return null;
  if (spec.kind === 'adapter') {
    if (pinned !== undefined) return null;
    // On the version of its base that the same client's base-model requests get: one client, one base.
    const base = deployments.get(spec.base!);
    const pool =
      base === undefined
        ? spec.base!
        : chooseVersion(
            base,
            undefined,
            pick.client(base.rollout?.stickyHeader ?? DEFAULT_STICKY_HEADER),
            pick.ready,
          ).pool;
    return { name, spec, pool, version: null, adapter: adapterRef(spec) };
  }
  const { version, pool } = chooseVersion(
    spec,
    pinned,
    pick.client(spec.rollout?.stickyHeader ?? DEFAULT_STICKY_HEADER),
    pick.ready,
  );
  return { name, spec, pool, version, adapter: null };
}

/**
 * A request's pick: its sticky header or API key as the client, readiness from the gateway's table. The
 * key's id (`wg_<id>_...`) rather than the secret: the same client whatever secret it rotates to.
 */
export function versionPick(
  registry: InstanceTable,
  header: (name: string) => string | undefined,
): VersionPick {
  return {
    client: (sticky) => {
      const session = header(sticky);
      if (session) return `s:${session}`;
      const bearer = /^Bearer\s+(\S+)$/i.exec(header('authorization') ?? '')?.[1];
      if (bearer === undefined) return null;
      return `k:${apiKeyId(bearer) ?? bearer}`;
    },
    ready: (pool) => registry.routable(pool).length > 0,
  };
}
