/** One version's share of the deployment's requests, in percent. */
export interface TrafficTarget {
  version: number;
  weight: number;
}

/** A step of a rollout, kept in the spec so every gateway replica and a restart see the same story. */
export interface RolloutEvent {
  at: number;
  action: 'rollout' | 'promote' | 'rollback';
  /** The stable version before the step. */
  from: number;
  /** The version the step moved traffic to (the canary, or the new stable). */
  to: number;
  /** The canary's weight after a rollout step. */
  weight?: number;
  reason?: string;
}

/**
 * When a canary is rolled back on its own (canary-verdict.ts): its error rate or TTFT p90 over the last
 * `windowMs` exceeds the stable version's by more than the margins, once both have `minRequests`; or it
 * has no ready instance `progressDeadlineMs` after it was given weight.
 */
export interface CanaryAnalysis {
  windowMs: number;
  minRequests: number;
  /** Error rate points above the stable's, e.g. 0.05: stable 1%, canary over 6% rolls back. */
  maxErrorRateIncrease: number;
  /** TTFT p90 ratio to the stable's, e.g. 1.5: over 1.5 times the stable's rolls back. */
  maxTtftP90Ratio: number;
  progressDeadlineMs: number;
}

export const CANARY_ANALYSIS_DEFAULTS: CanaryAnalysis = Object.freeze({
  windowMs: 60_000,
  minRequests: 20,
  maxErrorRateIncrease: 0.05,
  maxTtftP90Ratio: 1.5,
  progressDeadlineMs: 300_000,
});

/** The deployment's rollout settings and the story of its steps. */
export interface RolloutSettings {
  /** A request header whose value keeps one client on one version (else its API key does). */
  stickyHeader?: string;
  analysis?: Partial<CanaryAnalysis>;
  /** Oldest first, the last 50. */
  history?: RolloutEvent[];
}

export const DEFAULT_STICKY_HEADER = 'x-warmgate-session';
export const HISTORY_KEPT = 50;

const versionNumber = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;

/** The spec schema's fields for versions (spec.ts holds the rest); checked further by checkVersions. */
export const VERSION_FIELDS_SCHEMA = {
  version: { ...versionNumber, nullable: true },
  versions: {
    type: 'array',
    nullable: true,
    maxItems: 16,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['version', 'model'],
      properties: {
        version: versionNumber,
        model: { type: 'object' },
        runtime: { type: 'object' },
        batching: { type: 'object' },
        scaling: { type: 'object' },
      },
    },
  },
  traffic: {
    type: 'array',
    nullable: true,
    minItems: 1,
    maxItems: 17,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['version', 'weight'],
      properties: { version: versionNumber, weight: { type: 'integer', minimum: 0, maximum: 100 } },
    },
  },
  rollout: {
    type: 'object',
    nullable: true,
    additionalProperties: false,
    required: [],
    properties: {
      stickyHeader: { type: 'string', nullable: true, pattern: '^[a-z0-9-]{1,64}$' },
      analysis: {
        type: 'object',
        nullable: true,
        additionalProperties: false,
        required: [],
        properties: {
          windowMs: { type: 'integer', nullable: true, minimum: 1000, maximum: 86_400_000 },
          minRequests: { type: 'integer', nullable: true, minimum: 1, maximum: 1_000_000 },
          maxErrorRateIncrease: { type: 'number', nullable: true, minimum: 0, maximum: 1 },
          maxTtftP90Ratio: { type: 'number', nullable: true, minimum: 1, maximum: 1000 },
          progressDeadlineMs: { type: 'integer', nullable: true, minimum: 1000, maximum: 86_400_000 },
        },
      },
      history: { type: 'array', nullable: true, maxItems: HISTORY_KEPT, items: { type: 'object' } },
    },
  },
} as const;
