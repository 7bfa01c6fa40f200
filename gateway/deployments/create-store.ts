import { FileDeploymentStore } from './file-store.ts';
import { RedisDeploymentStore } from './redis-store.ts';
import type { DeploymentStore } from './store.ts';

export interface DeploymentStoreOptions {
  /** Redis when given (e.g. 'redis://127.0.0.1:6379'), the file otherwise. */
  redisUrl?: string;
  /** The JSON file used without Redis; created with its folder when absent. */
  file: string;
  /** Redis key prefix. Default 'warmgate:'. */
  keyPrefix?: string;
}

export function createDeploymentStore(options: DeploymentStoreOptions): DeploymentStore {
  const { redisUrl, file, keyPrefix } = options;
  if (redisUrl !== undefined && redisUrl !== '')
    return new RedisDeploymentStore({ url: redisUrl, keyPrefix });
  return new FileDeploymentStore(file);
}
