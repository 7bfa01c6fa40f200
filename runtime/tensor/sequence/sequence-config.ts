import type { TensorManifest } from '../tensor-model.ts';

/** One state tensor: fed to `input`, read back from `output`, of the same shape, kept per sequence. */
export interface StatePair {
  readonly input: string;
  readonly output: string;
}

/** A stateful tensor model, as the deployment (or the instance's flags) declares it. */
export interface SequenceConfig {
  readonly state: readonly StatePair[];
  /** A sequence no request touched for this long is closed and its state dropped. */
  readonly idleTimeoutMs: number;
  /** Sequences open at once on one instance; a start beyond it is refused (sequence_slots_full). */
  readonly maxSequences: number;
}

export const DEFAULT_SEQUENCE_IDLE_MS = 60_000;
export const DEFAULT_MAX_SEQUENCES = 1024;

/**
 * Why `config` does not fit the model, or null: each pair names one of its inputs and one of its
 * outputs, of the same shape, a batch dimension first and fixed sizes after it.
 */
export function sequenceConfigProblem(m: TensorManifest, config: SequenceConfig): string | null {
  if (config.state.length === 0) return 'a stateful model needs at least one state input/output pair';
  for (const { input, output } of config.state) {
    const i = m.inputs.find((s) => s.name === input);
    const o = m.outputs.find((s) => s.name === output);
    if (!i) return `state input '${input}' is not an input of ${m.name}`;
    if (!o) return `state output '${output}' is not an output of ${m.name}`;
    if (i.shape.join() !== o.shape.join())
      return `state '${input}' [${i.shape.join(', ')}] and '${output}' [${o.shape.join(', ')}] differ in shape`;
    if (i.shape.slice(1).some((d) => d < 0))
      return `state '${input}' has a free dimension after the batch: its size must be fixed`;
  }
  if (m.inputs.every((s) => config.state.some((p) => p.input === s.name)))
    return 'every input is state: the model needs an input the requests send';
  return null;
}

/** The inputs and outputs the requests see: the model's, less the state the instance keeps. */
export function requestTensors(m: TensorManifest, config: SequenceConfig | undefined) {
  if (!config) return { inputs: m.inputs, outputs: m.outputs };
  return {
    inputs: m.inputs.filter((s) => !config.state.some((p) => p.input === s.name)),
    outputs: m.outputs.filter((s) => !config.state.some((p) => p.output === s.name)),
  };
}
