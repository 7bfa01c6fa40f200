export { KubernetesProvider, type KubernetesProviderOptions } from './kubernetes-provider.ts';
export {
  LABELS,
  MANAGED_BY,
  type ModelVolume,
  type PodOptions,
  podName,
  runtimePod,
  SPEC,
  SPEC_HASH,
  specHash,
} from './pod-spec.ts';
export { podExit, podHealth, podUrl } from './pod-state.ts';
