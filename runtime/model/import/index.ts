export { type Checkpoint, openCheckpoint } from './checkpoint.ts';
export { architectureFromConfig, type ImportedConfig, readConfig, type WeightLayout } from './hf-config.ts';
export { ImportError, type ImportErrorCode } from './import-error.ts';
export { type HfModel, readHfModel } from './read-hf-model.ts';
export {
  parseSafetensors,
  readSafetensorsHeader,
  readTensor,
  type TensorEntry,
  tensorValues,
} from './safetensors.ts';
export { type GenerationDefaults, readTokenizerFiles, type TokenizerFiles } from './tokenizer-files.ts';
export { type PlannedTensor, planWeights, type Transform, type WeightPlan } from './weight-plan.ts';
export {
  WEIGHT_ALIGNMENT,
  type WeightIndexEntry,
  writeWeights,
  type WriteOptions,
  type WrittenWeights,
} from './write-weights.ts';
export { importModel, type ImportOptions, type ImportReport } from './import-model.ts';
