import { requestTensors } from '../tensor/index.ts';
import type { RuntimeInstance } from './instance.ts';
import type { ServedTokenizer } from './protocol.ts';

const BYTE_TOKENIZER: ServedTokenizer = Object.freeze({ type: 'byte' });

/**
 * What the instance serves, for the gateway to check requests against before sending them: a generative
 * model's vocabulary, context, n limit and tokenizer (byte-level, or the id of the files GET /tokenizer
 * serves); a tensor model's declared tensors and largest batch.
 */
export function instanceMetadata(inst: RuntimeInstance) {
  if (inst.engine) {
    const arch = inst.engine.model.manifest.architecture;
    return {
      model: inst.modelName,
      kind: 'generative' as const,
      vocabSize: arch.vocab_size,
      contextLength: arch.context_length,
      maxN: inst.engine.config.maxN,
      tokenizer: inst.servedTokenizer?.tokenizer ?? BYTE_TOKENIZER,
    };
  }
  const m = inst.tensorManifest;
  const seq = inst.sequenceConfig;
  // A stateful model's state is the instance's: callers see and send only the other tensors.
  const tensors = m ? requestTensors(m, seq) : { inputs: [], outputs: [] };
  return {
    model: inst.modelName,
    kind: 'tensor' as const,
    inputs: tensors.inputs,
    outputs: tensors.outputs,
    maxBatchSize: seq ? 1 : inst.batching.maxBatchSize,
    ...(seq && { sequence: { idleTimeoutMs: seq.idleTimeoutMs, maxSequences: seq.maxSequences } }),
  };
}
