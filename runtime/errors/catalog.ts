import type { AdmissionErrorCode } from '../engine/api.ts';
import type { InferResult, SequenceRefusalCode } from '../tensor/index.ts';

/** Why the dynamic batcher refused a tensor request before running it. */
type TensorRefusalCode = Extract<InferResult, { ok: false }>['error']['code'];

/** How one error code answers over HTTP. `type` is the OpenAI error type the official clients expect. */
export interface ErrorSpec {
  readonly status:
    400 | 401 | 403 | 404 | 405 | 408 | 409 | 410 | 413 | 415 | 422 | 429 | 431 | 500 | 502 | 503 | 504;
  readonly type:
    | 'invalid_request_error'
    | 'authentication_error'
    | 'permission_error'
    | 'not_found_error'
    | 'rate_limit_error'
    | 'server_error';
  /** What the caller should do, appended to the message when the site of the error has nothing better. */
  readonly hint: string;
}

/**
 * Every error the public API and the runtime instance's API return, with its HTTP status: the one table.
 * Engine admission and tensor refusal codes are required by type, so a new refusal cannot reach a client
 * without an entry here.
 */
export const ERROR_CATALOG = {
  // Request shape
  invalid_json: { status: 400, type: 'invalid_request_error', hint: 'send a JSON body' },
  invalid_request: { status: 400, type: 'invalid_request_error', hint: 'fix the field named in the message' },
  body_too_large: { status: 413, type: 'invalid_request_error', hint: 'send a smaller body' },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    hint: 'send fewer or shorter headers',
  },
  incomplete_body: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'send the whole body before closing the connection',
  },
  request_timeout: {
    status: 408,
    type: 'invalid_request_error',
    hint: 'send the whole request promptly',
  },
  prompt_too_long: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'shorten the prompt to the limit named in the message',
  },
  chat_template_missing: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'this model has no chat template: use the completions API',
  },
  chat_template_error: {
    status: 400,
    type: 'invalid_request_error',
    hint: "change the messages as the model's chat template requires (the message is the template's)",
  },
  unsupported_media_type: {
    status: 415,
    type: 'invalid_request_error',
    hint: 'send Content-Type: application/json',
  },
  invalid_tensor: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'match the model input shape and datatype',
  },
  route_not_found: { status: 404, type: 'not_found_error', hint: 'see the API routes in the README' },
  method_not_allowed: {
    status: 405,
    type: 'invalid_request_error',
    hint: 'use the method the route documents',
  },
  unauthorized: {
    status: 401,
    type: 'authentication_error',
    hint: 'send the admin token as Authorization: Bearer',
  },
  admin_token_not_configured: {
    status: 403,
    type: 'permission_error',
    hint: 'the admin API is closed until the gateway is given a token: set WARMGATE_ADMIN_TOKEN',
  },
  // API keys and their limits (gateway/auth)
  api_key_missing: {
    status: 401,
    type: 'authentication_error',
    hint: 'send an API key as Authorization: Bearer <key>',
  },
  api_key_invalid: {
    status: 401,
    type: 'authentication_error',
    hint: 'send a key created with POST /admin/v1/keys',
  },
  api_key_revoked: { status: 401, type: 'authentication_error', hint: 'ask for a new API key' },
  model_forbidden: {
    status: 403,
    type: 'permission_error',
    hint: "call a model the deployment's allowedKeys lets this key call",
  },
  rate_limit_exceeded: {
    status: 429,
    type: 'rate_limit_error',
    hint: "retry after the Retry-After delay, or raise the key's requestsPerSecond",
  },
  token_quota_exceeded: {
    status: 429,
    type: 'rate_limit_error',
    hint: 'retry after the Retry-After delay, when the quota window resets',
  },
  too_many_concurrent_requests: {
    status: 429,
    type: 'rate_limit_error',
    hint: "retry when one of the key's requests in flight has ended",
  },
  auth_unavailable: { status: 503, type: 'server_error', hint: 'retry once the key store is reachable' },
  api_key_not_found: { status: 404, type: 'not_found_error', hint: 'GET /admin/v1/keys lists the keys' },
  api_key_spec_invalid: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'fix the key field named in the message',
  },
  // Models and deployments
  model_not_found: { status: 404, type: 'not_found_error', hint: 'GET /v1/models lists the deployed models' },
  deployment_invalid: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'fix the deployment field named in the message',
  },
  deployment_not_found: {
    status: 404,
    type: 'not_found_error',
    hint: 'GET /admin/v1/deployments lists the deployments',
  },
  instance_not_found: {
    status: 404,
    type: 'not_found_error',
    hint: 'GET /admin/v1/instances lists the instances',
  },
  deployment_in_use: {
    status: 409,
    type: 'invalid_request_error',
    hint: 'delete or move the adapters and pipelines that use this deployment first',
  },
  deployment_conflict: {
    status: 409,
    type: 'invalid_request_error',
    hint: 'the deployment kept changing under this write: read it again and retry',
  },
  deployment_exists: {
    status: 409,
    type: 'invalid_request_error',
    hint: 'PUT /admin/v1/deployments/{name} replaces a deployment',
  },
  version_not_found: {
    status: 404,
    type: 'not_found_error',
    hint: "GET /admin/v1/deployments/{name}/rollout lists the deployment's versions",
  },
  version_retired: {
    status: 410,
    type: 'not_found_error',
    hint: 'call the deployment by name, or a version it still lists',
  },
  tokenizer_unavailable: {
    status: 503,
    type: 'server_error',
    hint: "retry: the gateway could not get the model's tokenizer from its instances",
  },
  tokenizer_not_found: {
    status: 404,
    type: 'not_found_error',
    hint: 'a byte-level or tensor model has no tokenizer files; GET /metadata names the tokenizer',
  },
  admin_store_unavailable: {
    status: 503,
    type: 'server_error',
    hint: 'retry once the deployment store is reachable',
  },
  // Engine admission (runtime/engine/errors.ts)
  empty_prompt: { status: 400, type: 'invalid_request_error', hint: 'send a non-empty prompt' },
  invalid_token: { status: 400, type: 'invalid_request_error', hint: 'send token ids inside the vocabulary' },
  adapter_not_found: {
    status: 404,
    type: 'not_found_error',
    hint: 'load the adapter on this instance, or call the base model',
  },
  // An adapter refused at load (runtime/adapters/adapter-error.ts): never mid-request.
  adapter_config_invalid: {
    status: 422,
    type: 'invalid_request_error',
    hint: "fix the adapter's adapter_config.json field named in the message",
  },
  adapter_unsupported: {
    status: 422,
    type: 'invalid_request_error',
    hint: 'train a plain LoRA adapter (no DoRA, bias or modules_to_save) on the targets this instance serves',
  },
  adapter_rank_too_large: {
    status: 422,
    type: 'invalid_request_error',
    hint: "use a rank within the instance's maximum (at most 64), or raise runtime.adapters.maxRank",
  },
  adapter_base_mismatch: {
    status: 422,
    type: 'invalid_request_error',
    hint: 'the adapter was trained on another base model: deploy it on that base',
  },
  adapter_file_corrupt: {
    status: 422,
    type: 'invalid_request_error',
    hint: "write the adapter's adapter_model.safetensors again (it is damaged, truncated or lacks a tensor)",
  },
  adapter_conflict: {
    status: 409,
    type: 'invalid_request_error',
    hint: 'an adapter id names one folder on an instance: use another id for another folder',
  },
  adapters_not_served: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'start the instance with adapter slots (--adapter-slots, runtime.adapters) or call the base model',
  },
  invalid_sampling_params: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'fix the sampling field named in the message',
  },
  context_length_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'shorten the prompt or lower max_tokens',
  },
  kv_capacity_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'lower max_tokens or shorten the prompt',
  },
  queue_full: { status: 503, type: 'server_error', hint: 'retry after the Retry-After delay' },
  engine_draining: { status: 503, type: 'server_error', hint: 'retry; another instance will take it' },
  // Stateful tensor sequences (runtime/tensor/sequence/, gateway/dispatch/sequence-call.ts)
  sequence_not_started: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'send sequence_start: true on the first request of a sequence (also after it ended or expired)',
  },
  sequence_lost: {
    status: 409,
    type: 'invalid_request_error',
    hint: 'the instance that held the sequence is gone: start it again (sequence_start) from its first input',
  },
  sequence_slots_full: {
    status: 503,
    type: 'server_error',
    hint: 'retry after Retry-After, or end idle sequences (sequence_end)',
  },
  // A standby runtime process's POST /assign (runtime/instance/http/standby-app.ts)
  invalid_assignment: {
    status: 400,
    type: 'invalid_request_error',
    hint: 'send {"args": [flag, ...]} with the flags an instance takes, without --standby',
  },
  already_assigned: {
    status: 409,
    type: 'invalid_request_error',
    hint: 'this standby already has a model; assign another standby',
  },
  not_primed: { status: 409, type: 'invalid_request_error', hint: 'retry once GET /live says primed' },
  // Capacity and upstream
  concurrency_limit: { status: 429, type: 'rate_limit_error', hint: 'retry after the Retry-After delay' },
  no_capacity: { status: 503, type: 'server_error', hint: 'retry after the Retry-After delay' },
  upstream_failed: { status: 502, type: 'server_error', hint: 'retry the request' },
  upstream_timeout: {
    status: 504,
    type: 'server_error',
    hint: 'retry the request; the instance stopped answering and is being replaced',
  },
  // Pipelines (gateway/pipelines): a step failing keeps its own code, its message naming the step.
  pipeline_value_missing: {
    status: 502,
    type: 'server_error',
    hint: "a step answered without the value the pipeline reads: fix the pipeline's path or cases",
  },
  engine_step_failed: { status: 500, type: 'server_error', hint: 'retry the request' },
  internal_error: {
    status: 500,
    type: 'server_error',
    hint: 'retry the request; the server that failed logged the cause',
  },
} as const satisfies Record<string, ErrorSpec> &
  Record<AdmissionErrorCode | TensorRefusalCode | SequenceRefusalCode, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];
