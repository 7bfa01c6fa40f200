export { type BatchingConfig, takeBatch } from './batch-policy.ts';
export { type BatcherHooks, DynamicBatcher, type InferResult, type NamedTensor } from './dynamic-batcher.ts';
export { loadTensorModel, type TensorManifest, type TensorModel, type TensorSpec } from './tensor-model.ts';
export {
  DEFAULT_MAX_SEQUENCES,
  DEFAULT_SEQUENCE_IDLE_MS,
  requestTensors,
  SequenceBatcher,
  type SequenceConfig,
  sequenceConfigProblem,
  type SequenceRef,
  type SequenceRefusalCode,
  type SequenceResult,
} from './sequence/index.ts';
