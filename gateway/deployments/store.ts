import type { DeploymentSpec } from './spec.ts';

/**
 * Where deployments persist. Every backend holds the same thing: specs by name, each already checked by
 * checkDeployment. There is no watch: the DeploymentRegistry is this process's cache and sees its own writes.
 */
export interface DeploymentStore {
  /** Every deployment, sorted by name. */
  list(): Promise<DeploymentSpec[]>;
  get(name: string): Promise<DeploymentSpec | undefined>;
  /** Creates or replaces the deployment named by spec.name. */
  put(spec: DeploymentSpec): Promise<void>;
  /** True when there was one to delete. */
  delete(name: string): Promise<boolean>;
  close(): Promise<void>;
  /** False when the store lost what was written to it (a Redis restarted without its data). */
  intact?(): Promise<boolean>;
}

export const byName = (a: DeploymentSpec, b: DeploymentSpec): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
