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
  /**
   * Replaces the deployment with `change(stored)`, where stored is what the store holds at the moment
   * of the write: a write by another process in between makes it read and change again (false after
   * too many), never lose that write. Undefined when there is none. Absent where one process owns the
   * store (its registry serialises the writes).
   */
  update?(
    name: string,
    change: (stored: DeploymentSpec) => DeploymentSpec,
  ): Promise<DeploymentSpec | undefined | false>;
  /** True when there was one to delete. */
  delete(name: string): Promise<boolean>;
  close(): Promise<void>;
  /** False when the store lost what was written to it (a Redis restarted without its data). */
  intact?(): Promise<boolean>;
}

export const byName = (a: DeploymentSpec, b: DeploymentSpec): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
