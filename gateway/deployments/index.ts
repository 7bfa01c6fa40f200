export { createDeploymentStore, type DeploymentStoreOptions } from './create-store.ts';
export { DeploymentFileError, FileDeploymentStore } from './file-store.ts';
export type { InputCheck } from './input-schema.ts';
export { RedisDeploymentStore, type RedisDeploymentOptions } from './redis-store.ts';
export {
  DeploymentRegistry,
  type DeploymentChange,
  type DeploymentListener,
  type DeploymentRegistryOptions,
} from './deployment-registry.ts';
export {
  checkDeployment,
  type DeploymentSpec,
  type GenerativeBatching,
  type ModelArtifact,
  type ScalingPolicy,
  type TensorBatching,
} from './spec.ts';
export { SCALING_DEFAULTS } from './scaling-defaults.ts';
export type { DeploymentStore } from './store.ts';
export { type AdapterRef, adapterRef, servingName } from './serving.ts';
