import { Ajv, type JSONSchemaType } from 'ajv';

/** Engine limits. Validated once, frozen, passed down; nothing below reads the environment. */
export interface EngineConfig {
  /** Bytes of KV cache (keys and values, all layers); the pool holds floor(bytes / bytesPerBlock) blocks. */
  kvCacheBytes: number;
  /** Token slots per KV block: the unit of allocation (smaller wastes less at each sequence's end). */
  blockSize: number;
  /**
   * Blocks per attention tile: the unit engine.onnx reads in place. Larger tiles mean fewer, larger
   * matrix products per step; the allocator keeps each sequence's blocks in tiles of its own.
   */
  tileBlocks: number;
  /** Most sequences running at once (the decode batch). */
  maxRunningSeqs: number;
  /** Token budget of one step, shared by decodes (1 each) and prefill chunks. */
  maxBatchedTokens: number;
  /** Longest prefill chunk of one sequence in one step, so long prompts cannot stall decodes. */
  maxPrefillChunk: number;
  /** Requests that may wait for admission; more are refused with queue_full. */
  maxWaiting: number;
  /** Most samples per request (n). */
  maxN: number;
  enablePrefixCaching: boolean;
  /** ONNX Runtime intra-op threads (0: ONNX Runtime's default, one per core). */
  intraOpThreads: number;
  /**
   * Events one request's stream may hold unread (its reader stalled: a slow client, backpressure all the
   * way here); past it the request is cancelled (finish reason 'abort') and its KV blocks freed.
   */
  maxBufferedEvents: number;
}

export const DEFAULT_ENGINE_CONFIG: Readonly<EngineConfig> = Object.freeze({
  kvCacheBytes: 256 * 1024 * 1024,
  blockSize: 16,
  tileBlocks: 8,
  maxRunningSeqs: 32,
  maxBatchedTokens: 256,
  maxPrefillChunk: 256,
  maxWaiting: 1024,
  maxN: 8,
  enablePrefixCaching: true,
  intraOpThreads: 0,
  maxBufferedEvents: 1024,
});

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;

const schema: JSONSchemaType<EngineConfig> = {
  type: 'object',
  additionalProperties: false,
  required: Object.keys(DEFAULT_ENGINE_CONFIG) as (keyof EngineConfig)[],
  properties: {
    kvCacheBytes: int(1024, 2 ** 40),
    blockSize: int(1, 1024),
    tileBlocks: int(1, 64),
    maxRunningSeqs: int(1, 4096),
    maxBatchedTokens: int(1, 65536),
    maxPrefillChunk: int(1, 65536),
    maxWaiting: int(0, 1_000_000),
    maxN: int(1, 128),
    enablePrefixCaching: { type: 'boolean' },
    intraOpThreads: int(0, 256),
    maxBufferedEvents: int(1, 1_000_000),
  },
};

const validate = new Ajv({ allErrors: true }).compile(schema);

export class EngineConfigError extends Error {
  override name = 'EngineConfigError';
}

/** Defaults plus overrides; an error names the key, the value and what is allowed. */
export function engineConfig(overrides: Partial<EngineConfig> = {}): Readonly<EngineConfig> {
  const merged = { ...DEFAULT_ENGINE_CONFIG, ...overrides };
  if (!validate(merged)) {
    const problems = (validate.errors ?? []).map((e) => {
      const key = e.instancePath.slice(1) || String(e.params.additionalProperty ?? '');
      const value = key in merged ? JSON.stringify((merged as Record<string, unknown>)[key]) : 'given';
      return `${key}=${value}: ${e.message}`;
    });
    throw new EngineConfigError(`invalid engine config: ${problems.join('; ')}`);
  }
  if (merged.maxPrefillChunk > merged.maxBatchedTokens) {
    throw new EngineConfigError(
      `invalid engine config: maxPrefillChunk=${merged.maxPrefillChunk} must not exceed maxBatchedTokens=${merged.maxBatchedTokens}`,
    );
  }
  return Object.freeze(merged);
}
