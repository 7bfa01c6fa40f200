import {
  type AdapterRef,
  adapterRef,
  type DeploymentRegistry,
  type DeploymentSpec,
} from '../deployments/index.ts';

/** What a generation is called as, and where it runs. */
export interface GenerationTarget {
  /** The deployment called: the request's history, metrics and key checks are its own. */
  readonly name: string;
  readonly spec: DeploymentSpec;
  /** The deployment whose instances run it: its base for an adapter, else itself. */
  readonly pool: string;
  /** The adapter the instance applies; null for the base model. */
  readonly adapter: AdapterRef | null;
}

/** A generative deployment or an adapter by name; null for a tensor deployment or none. */
export function generationTarget(deployments: DeploymentRegistry, name: string): GenerationTarget | null {
  const spec = deployments.get(name);
  if (spec === undefined || spec.kind === 'tensor') return null;
  return spec.kind === 'adapter'
    ? { name, spec, pool: spec.base!, adapter: adapterRef(spec) }
    : { name, spec, pool: name, adapter: null };
}
