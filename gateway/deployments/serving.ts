import { createHash } from 'node:crypto';
import type { DeploymentSpec } from './spec.ts';
import { servingPools } from './versions.ts';

/** An adapter as an instance is asked for it (POST /generate's `adapter`). */
export interface AdapterRef {
  /**
   * The id the instance keeps it under: the deployment's name and its folder's hash, so an adapter
   * deployed again from another folder is a new adapter there, never the old weights under a new path.
   */
  readonly id: string;
  readonly path: string;
}

/** The deployment whose instances serve `spec`: its base for an adapter, else itself. */
export function servingName(spec: DeploymentSpec): string {
  return spec.kind === 'adapter' ? spec.base! : spec.name;
}

/**
 * The pools whose instances take unpinned calls to `spec`: its versions' that the split gives a weight
 * (versions.ts), an adapter's base's.
 */
export function servingPoolsOf(
  spec: DeploymentSpec,
  lookup: (name: string) => DeploymentSpec | undefined,
): string[] {
  const d = spec.kind === 'adapter' ? lookup(spec.base!) : spec;
  return d === undefined ? [servingName(spec)] : servingPools(d);
}

const refs = new WeakMap<DeploymentSpec, AdapterRef>();

/** What instances are asked to load for an adapter deployment (specs are frozen: made once each). */
export function adapterRef(spec: DeploymentSpec): AdapterRef {
  let ref = refs.get(spec);
  if (ref === undefined) {
    const path = (spec.model as { path: string }).path;
    const hash = createHash('sha256').update(path).digest('hex').slice(0, 8);
    ref = Object.freeze({ id: `${spec.name}@${hash}`, path });
    refs.set(spec, ref);
  }
  return ref;
}
