/** The load report a runtime instance answers on GET /load and carries on responses (x-warmgate-load). */
export interface LoadReport {
  readonly state?: string;
  readonly running?: number;
  readonly waiting?: number;
  readonly outstanding?: number;
  readonly kvUsagePct?: number;
  readonly kvFreeBlocks?: number;
  readonly kvTotalBlocks?: number;
  readonly prefixHitRate?: number;
  readonly prefixHitTokens?: number;
  readonly prefixQueryTokens?: number;
  readonly recentTokensPerSec?: number;
}

/** What the instance serves, from GET /metadata: limits the gateway checks requests against. */
export interface InstanceMetadata {
  readonly model: string;
  readonly kind: 'generative' | 'tensor';
  /** Generative models. */
  readonly vocabSize?: number;
  readonly contextLength?: number;
  readonly maxN?: number;
  /** Tensor models. */
  readonly inputs?: readonly TensorMetadata[];
  readonly outputs?: readonly TensorMetadata[];
  readonly maxBatchSize?: number;
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  /** -1 for a free dimension (the batch). */
  readonly shape: readonly number[];
}

export type InstanceHealth = 'starting' | 'ready' | 'draining' | 'unreachable';
