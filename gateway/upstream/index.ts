export { isUpstreamSilence, RetryableUpstreamError, upstreamTimeout } from './errors.ts';
export { type CallOptions, inferTensors, startGeneration } from './instance-client.ts';
export type {
  GenerateRequestBody,
  InferResponseBody,
  SequenceBody,
  TensorBody,
} from '../../runtime/instance/protocol.ts';
export { generateWhole } from './whole-generation.ts';
