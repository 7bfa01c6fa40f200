export { type BatchingConfig, takeBatch } from './batch-policy.ts';
export { type BatcherHooks, DynamicBatcher, type InferResult, type NamedTensor } from './dynamic-batcher.ts';
export { loadTensorModel, type TensorManifest, type TensorModel, type TensorSpec } from './tensor-model.ts';
