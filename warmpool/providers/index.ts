export { instanceArgs } from './instance-args.ts';
export { LocalProvider, type LocalProviderOptions } from './local-provider.ts';
export type { InstanceExit, InstanceHealth, Provider, ProviderInstance, StartSpec } from './provider.ts';
