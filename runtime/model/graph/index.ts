export { buildGraphs, type ModelGraphs } from './build-graphs.ts';
export { GraphBuildError } from './graph-build-error.ts';
export { ropeInvFreq } from './rope.ts';
export {
  checkWeightIndex,
  demoWeightIndex,
  packedWeightIndex,
  WEIGHT_ALIGN,
  type WeightDtype,
  type WeightEntry,
  type WeightIndex,
  weightShapes,
} from './weight-index.ts';
