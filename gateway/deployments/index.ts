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
  type DeploymentSpec,
  type GenerativeBatching,
  type ModelArtifact,
  type ScalingPolicy,
  type TensorBatching,
  type TensorSequence,
  type VersionSpec,
} from './spec.ts';
export { SCALING_DEFAULTS } from './scaling-defaults.ts';
export type { DeploymentStore } from './store.ts';
export { type AdapterRef, adapterRef, servingName, servingPoolsOf } from './serving.ts';
export type { PipelinePrompt, PipelineStep } from './pipeline-types.ts';
export { outputRef } from './pipeline-spec.ts';
export { planPipeline, type PipelinePlan } from './pipeline-plan.ts';
export { fillTemplate, isRef, literal, parseRef, type PipelineRef, readPath } from './pipeline-path.ts';
export {
  CANARY_ANALYSIS_DEFAULTS,
  type CanaryAnalysis,
  DEFAULT_STICKY_HEADER,
  HISTORY_KEPT,
  type RolloutEvent,
  type RolloutSettings,
  type TrafficTarget,
} from './version-fields.ts';
export {
  /** A deployment as the admin API receives it, checked with its versions. */
  checkVersionedDeployment as checkDeployment,
  declaredTraffic,
  hasVersions,
  pinnedVersion,
  servingPools,
  stableVersion,
  versionDeployment,
  versionNumbers,
  versionPool,
} from './versions.ts';
