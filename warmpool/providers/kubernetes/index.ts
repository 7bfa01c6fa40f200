export { KubernetesProvider, type KubernetesProviderOptions } from './kubernetes-provider.ts';
export { type ModelVolume, type PodOptions, podName, runtimePod, specHash } from './pod-spec.ts';
export { podExit, podHealth, podUrl } from './pod-state.ts';
