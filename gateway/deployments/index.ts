export {
  checkDeployment,
  type DeploymentSpec,
  type GenerativeBatching,
  type ModelArtifact,
  type ScalingPolicy,
  type TensorBatching,
} from './spec.ts';
