export { buildDeviceGraphs, buildGraphs, type DeviceGraphs, type ModelGraphs } from './build-graphs.ts';
export { type KvDtype } from './device-engine.ts';
export { weightIndexOfGraph } from './weight-index-of-graph.ts';
export { GraphBuildError } from './graph-build-error.ts';
export { ropeInvFreq } from './rope.ts';
export {
  type BlockQuantization,
  checkWeightIndex,
  demoWeightIndex,
  matmulWeight,
  type MatmulWeight,
  packedWeightIndex,
  WEIGHT_ALIGN,
  type WeightDtype,
  type WeightEntry,
  type WeightIndex,
  weightShapes,
  type WeightSpan,
} from './weight-index.ts';
