/**
 * What another process needs to speak to the engine, without the engine: sampling parameters and their
 * validation, the generation event and error types, admission error codes, priorities and the byte
 * tokenizer. Nothing here loads ONNX Runtime (index.ts does, through the model runner), so the gateway
 * imports this and only this; test/gateway/no-onnxruntime.test.ts checks that its process never loads it.
 */
export type { AdmissionError, AdmissionErrorCode } from './errors.ts';
export type { FinishTiming, GenerationError, GenerationEvent } from './generation-event.ts';
export {
  DEFAULT_SAMPLING_PARAMS,
  type SamplingLimits,
  type SamplingParams,
  type SamplingParamsResult,
  validateSamplingParams,
} from './sampling/params.ts';
export { PRIORITY, type Priority } from './sequence.ts';
export * from './text/index.ts';
