export {
  type RowBatcher,
  SequenceBatcher,
  type SequenceRef,
  type SequenceRefusalCode,
  type SequenceResult,
} from './sequence-batcher.ts';
export {
  DEFAULT_MAX_SEQUENCES,
  DEFAULT_SEQUENCE_IDLE_MS,
  requestTensors,
  type SequenceConfig,
  sequenceConfigProblem,
  type StatePair,
} from './sequence-config.ts';
