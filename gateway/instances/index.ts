export { InstanceRegistry, type InstanceRegistryOptions } from './instance-registry.ts';
export type { InstanceHealth, InstanceMetadata, LoadReport, TensorMetadata } from './types.ts';
export { UpstreamInstance } from './upstream-instance.ts';
