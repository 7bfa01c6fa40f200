export { isUpstreamSilence, RetryableUpstreamError, upstreamTimeout } from './errors.ts';
export {
  type CallOptions,
  inferTensors,
  type InstanceGenerateBody,
  type InstanceInferResult,
  startGeneration,
  type TensorPayload,
} from './instance-client.ts';
export { generateWhole } from './whole-generation.ts';
