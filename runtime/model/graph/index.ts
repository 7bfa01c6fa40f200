export {
  buildAdapterEngineGraph,
  buildDeviceGraphs,
  buildGraphs,
  type DeviceGraphs,
  type ModelGraphs,
} from './build-graphs.ts';
export {
  ADAPTER_ANY_INPUT,
  ADAPTER_SEGMENT_SLOT_INPUT,
  ADAPTER_SEGMENT_TOKENS_INPUT,
  ADAPTER_TOKEN_ROW_INPUT,
  LORA_SEGMENT_INPUTS,
  checkLoraSpec,
  LORA_TARGETS,
  type LoraGraphSpec,
  loraStackNames,
  type LoraTarget,
  loraTargetDims,
  MAX_LORA_RANK,
} from './lora.ts';
export {
  LORA_WRITE_PACK,
  LORA_WRITE_PACK_SIZES,
  LORA_WRITE_ROWS,
  loraStackOut,
  loraStackShapes,
} from './lora-stacks.ts';
export { deviceLoraStackNames, deviceLoraStacks, type DeviceLoraStacks } from './lora-grouped.ts';
export { type ComputeDtype, type KvDtype, poolBlockDims } from './device-engine.ts';
export { INVISIBLE } from './fused-attention.ts';
export { GREEDY_ROW_WIDTH, GREEDY_ROWS } from './greedy-rows.ts';
export { pagedAttentionUnfit } from './paged-attention.ts';
export { type StepAttention } from './step-pack.ts';
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
