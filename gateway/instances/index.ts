export { InstanceTable, type InstanceTableOptions } from './instance-table.ts';
export type {
  InstanceHealth,
  InstanceMetadata,
  LoadReport,
  ServedTokenizer,
  TensorMetadata,
} from './types.ts';
export { UpstreamInstance } from './upstream-instance.ts';
