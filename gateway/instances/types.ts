import type { LoadReport as RuntimeLoadReport } from '../../runtime/instance/load-report.ts';
import type { ServedTokenizer } from '../../runtime/instance/protocol.ts';

/**
 * The load report a runtime instance answers on GET /load and carries on responses (x-warmgate-load),
 * as the gateway reads it: any field may be missing (an older instance, a tensor model, a failed poll).
 */
export type LoadReport = Partial<RuntimeLoadReport>;

/** What the instance serves, from GET /metadata: limits the gateway checks requests against. */
export interface InstanceMetadata {
  readonly model: string;
  readonly kind: 'generative' | 'tensor';
  /** Generative models. */
  readonly vocabSize?: number;
  readonly contextLength?: number;
  readonly maxN?: number;
  /** Which tokenizer it serves; an instance that does not say is byte-level (it predates the field). */
  readonly tokenizer?: ServedTokenizer;
  /** Tensor models. */
  readonly inputs?: readonly TensorMetadata[];
  readonly outputs?: readonly TensorMetadata[];
  readonly maxBatchSize?: number;
  /** A stateful tensor model: its sequences' idle timeout and how many one instance holds. */
  readonly sequence?: { readonly idleTimeoutMs: number; readonly maxSequences: number };
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  /** -1 for a free dimension (the batch). */
  readonly shape: readonly number[];
}

export type { ServedTokenizer };

export type InstanceHealth = 'starting' | 'ready' | 'draining' | 'unreachable';
