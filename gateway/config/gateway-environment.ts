import type { EnvironmentSchema } from './environment.ts';

/** Variables both the gateway and the controller read. */
export const SHARED_VARIABLES = {
  HOST: { type: 'string', description: 'Address to listen on.', default: '127.0.0.1' },
  REDIS_URL: {
    type: 'string',
    description:
      'Redis for shared state (deployments, request history, instance registry, leader lease, limits), e.g. redis://:password@redis:6379/0.',
    secret: true,
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    type: 'string',
    description:
      'OTLP/HTTP endpoint traces are exported to (e.g. http://otel-collector:4318); off when unset.',
  },
  WARMGATE_REPLICA_ID: {
    type: 'string',
    description:
      "This replica's name in the leader election and on the demand board (the pod's name). Default host:pid.",
  },
} as const satisfies EnvironmentSchema['variables'];

/** The gateway process (gateway/main.ts): the public API, the admin API and /metrics on one port. */
export const GATEWAY_ENVIRONMENT = {
  component: 'gateway',
  variables: {
    ...SHARED_VARIABLES,
    PORT: {
      type: 'integer',
      description: 'HTTP port: public API, admin API, /live, /ready and /metrics.',
      default: 8080,
      minimum: 1,
    },
    WARMGATE_ADMIN_TOKEN: {
      type: 'string',
      description:
        'Bearer token the admin API requires; unset, the admin API refuses every request (403 admin_token_not_configured).',
      secret: true,
    },
    WARMGATE_API_KEYS: {
      type: 'string',
      description:
        'Whether the public API (/v1, /v2) requires an API key (created with POST /admin/v1/keys or `warmgate keys create`).',
      enum: ['required', 'off'],
      default: 'required',
    },
    WARMGATE_ROUTING: {
      type: 'string',
      description: 'How a request picks among ready instances.',
      enum: ['prefix', 'least-load', 'round-robin'],
      default: 'prefix',
    },
    WARMGATE_BODY_LIMIT_BYTES: {
      type: 'integer',
      description: 'Largest request body; larger ones get 413 body_too_large.',
      default: 4_194_304,
      minimum: 1,
    },
    WARMGATE_MAX_HEADER_BYTES: {
      type: 'integer',
      description: 'Largest request head (request line and headers); larger ones get 431 headers_too_large.',
      default: 16_384,
      minimum: 1024,
    },
    WARMGATE_MAX_PROMPT_TOKENS: {
      type: 'integer',
      description:
        "Largest prompt in tokens; longer ones get 400 prompt_too_long before reaching an instance. Unset: the model's context.",
      minimum: 1,
    },
    WARMGATE_MAX_TOKENS: {
      type: 'integer',
      description:
        "Largest max_tokens a request may ask for (and the cap on its default); over it, 400 invalid_sampling_params. Unset: the model's context.",
      minimum: 1,
    },
    WARMGATE_MAX_N: {
      type: 'integer',
      description:
        "Largest n (choices per request); over it, 400 invalid_sampling_params. Unset: the model's.",
      minimum: 1,
    },
    WARMGATE_RECORD_CONTENT: {
      type: 'boolean',
      description:
        'Put prompts and completions on request spans (gen_ai.prompt, gen_ai.completion). Off: content never reaches telemetry.',
      default: false,
    },
    WARMGATE_MAX_CONCURRENCY: {
      type: 'integer',
      description: 'Requests of one model in flight through this gateway at once; past it, 429.',
      default: 512,
      minimum: 1,
    },
    WARMGATE_MAX_QUEUED: {
      type: 'integer',
      description: 'Requests of one model waiting for a ready instance; past it, 503.',
      default: 256,
      minimum: 0,
    },
    WARMGATE_QUEUE_TIMEOUT_MS: {
      type: 'integer',
      description: 'How long a request may wait for a ready instance before 503.',
      default: 30_000,
      minimum: 0,
    },
    WARMGATE_SHUTDOWN_GRACE_MS: {
      type: 'integer',
      description:
        'On SIGTERM: how long in-flight requests may finish (while /ready answers 503) before the server closes.',
      default: 25_000,
      minimum: 0,
    },
    WARMGATE_DEPLOYMENTS_FILE: {
      type: 'string',
      description: 'Where deployments persist without Redis.',
      default: '.warmgate/deployments.json',
    },
    WARMGATE_UPSTREAM_IDLE_TIMEOUT_MS: {
      type: 'integer',
      description:
        'Longest silence of an instance on a request (no answer, no token) before the request fails with 504 upstream_timeout and the instance is reported hung.',
      default: 60_000,
      minimum: 1,
    },
    WARMGATE_HISTORY_MAX_UNSENT_KEYS: {
      type: 'integer',
      description:
        'Request-history keys (bucket hashes, arrival pages) whose counts may wait in memory while Redis is away; past it the oldest are dropped (gateway/request-history/README.md).',
      default: 20_000,
      minimum: 1,
    },
  },
} as const satisfies EnvironmentSchema;
