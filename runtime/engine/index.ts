export { DEFAULT_ENGINE_CONFIG, type EngineConfig, EngineConfigError, engineConfig } from './config.ts';
export {
  Engine,
  type EngineAdapterStats,
  type EngineHooks,
  type GenerateRequest,
  type SubmitResult,
} from './engine.ts';
export type { GenerationError, GenerationEvent } from './generation-event.ts';
export type { AdmissionError, AdmissionErrorCode } from './errors.ts';
export { DEFAULT_SAMPLING_PARAMS, type SamplingParams, validateSamplingParams } from './sampling/params.ts';
export { PRIORITY, type Priority } from './sequence.ts';
export type { RequestTimes } from './request-state.ts';
export type { EngineStats, StepRecord } from './step-stats.ts';
export * from './text/index.ts';
