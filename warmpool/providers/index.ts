export { instanceArgs } from './instance-args.ts';
export { InstanceLog, type InstanceLogOptions, type LogLine } from './instance-log.ts';
export { LocalProvider, type LocalProviderOptions } from './local-provider.ts';
export type { InstanceExit, InstanceHealth, Provider, ProviderInstance, StartSpec } from './provider.ts';
// Types only: the provider itself is imported from ./kubernetes/index.ts, so that hosts running the local
// provider do not load @kubernetes/client-node (about 0.4 s of imports).
export type { KubernetesProviderOptions, ModelVolume, PodOptions } from './kubernetes/index.ts';
