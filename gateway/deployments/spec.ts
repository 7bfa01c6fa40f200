import { LORA_TARGETS, type LoraTarget } from '../../runtime/model/graph/index.ts';
import { Ajv, type JSONSchemaType } from 'ajv';
import { ApiError } from '../errors/index.ts';
import { checkPipelineFields, STEPS_SCHEMA } from './pipeline-spec.ts';
import type { PipelineStep } from './pipeline-types.ts';
import { withScalingDefaults } from './scaling-defaults.ts';
import { type RolloutSettings, type TrafficTarget, VERSION_FIELDS_SCHEMA } from './version-fields.ts';

/** Where a model comes from: a folder on the host, or a URL pinned by its sha256. */
export type ModelArtifact = { path: string } | { url: string; sha256: string };

/**
 * How a deployment scales. Every field may be left out of what the admin API receives (scaling itself
 * too): checkDeployment sets the defaults of scaling-defaults.ts, so a checked spec holds them all.
 */
export interface ScalingPolicy {
  /** Default 0 (scale to zero). */
  minInstances: number;
  /** Default 4, or minInstances when that is larger. */
  maxInstances: number;
  /** Ready-idle instances kept above current use. Default 0. */
  warmBuffer: number;
  /** How long an instance stays after its last request before it may be scaled down. Default 300000. */
  keepAliveMs: number;
  /** Time-to-first-token objective the autoscaler sizes capacity for. Default 1000. */
  ttftSloMs: number;
  /**
   * The scaling policy (warmpool/policies): reactive, keepalive, histogram, predictive, costaware or tuned. Default: the
   * platform's (predictive).
   */
  policy?: 'reactive' | 'keepalive' | 'histogram' | 'predictive' | 'costaware' | 'tuned';
  /** Policy settings by name (e.g. { "quantile": 0.9 }); each policy documents its own. */
  knobs?: Record<string, number>;
  /**
   * What one cold-started request costs, in seconds of an idle instance: the costaware policy keeps an
   * instance wherever the cold starts it spares are worth more than its idle time. Higher: fewer cold
   * starts, more idle capacity. Default: the policy's (60).
   */
  coldStartCost?: number;
  /**
   * Concurrent requests one instance serves within the TTFT SLO, as measured for this model (e.g. with
   * npm run bench:runtime). Default: the instance's concurrency limit (maxRunningSeqs or maxBatchSize).
   */
  capacityPerInstance?: number;
}

export interface GenerativeBatching {
  maxRunningSeqs: number;
  maxBatchedTokens: number;
  kvCacheBytes: number;
}

export interface TensorBatching {
  maxBatchSize: number;
  preferredBatchSizes: number[];
  maxQueueDelayMs: number;
}

export interface TensorSequence {
  state: { input: string; output: string }[];
  idleTimeoutMs?: number;
  maxSequences?: number;
}

/** A deployment: a model served as an HTTP function. What the admin API creates, reads and deletes. */
export interface DeploymentSpec {
  name: string;
  /**
   * generative and tensor deployments have their own instances; an adapter (a PEFT LoRA folder in
   * `model`) runs on the instances of its `base`, a generative deployment that serves adapters. A
   * pipeline has no model: it calls other deployments (`steps`).
   */
  kind: 'generative' | 'tensor' | 'adapter' | 'pipeline';
  /** Adapters only: the deployment whose instances serve it. */
  base?: string;
  /** Every kind but pipeline. */
  model?: ModelArtifact;
  /** Pipelines only: its steps by id, each a call to another deployment (pipeline-spec.ts). */
  steps?: Record<string, PipelineStep>;
  /** Pipelines only: what it answers, a reference such as `$.steps.generate`; default its last step. */
  output?: string;
  /** JSON Schema of the function-style body (POST /v1/functions/{name}); compiled once per deployment. */
  inputSchema?: Record<string, unknown>;
  /**
   * Generative functions: the prompt built from the function's body, e.g. "Summarize:\n{{text}}\n";
   * without one the body's `prompt` is the prompt.
   */
  promptTemplate?: string;
  batching?: Partial<GenerativeBatching> & Partial<TensorBatching>;
  /**
   * Tensor deployments: a stateful model (Triton's sequence batcher). Each pair names a model input fed
   * the state its sequence's previous request left in `output` (zeros at sequence_start); instances keep
   * it per sequence_id, close a sequence idle `idleTimeoutMs` (default 60000) and hold at most
   * `maxSequences` (default 1024).
   */
  sequence?: TensorSequence;
  scaling: ScalingPolicy;
  /**
   * Ids of the API keys that may call this deployment (the `<id>` of `wg_<id>_...`); others get 403
   * model_forbidden and do not see it in GET /v1/models. Left out: every key. Enforced when the gateway
   * requires API keys.
   */
  allowedKeys?: string[];
  /**
   * Where the model runs: ONNX Runtime execution providers in preference order (e.g. ["cuda", "cpu"]), and
   * whether an instance refuses to start when the first is missing (else it falls back with a warning).
   * Default: CPU. On webgpu the KV pool lives on the GPU, stored as `kvDtype` (default float32; float16
   * holds twice the tokens in the same `batching.kvCacheBytes`).
   */
  runtime?: {
    executionProviders?: ('cpu' | 'webgpu' | 'cuda' | 'tensorrt')[];
    requireExecutionProvider?: boolean;
    kvDtype?: 'float32' | 'float16';
    /**
     * On a host with several GPUs, the one this deployment's webgpu instances run on (PCI bus order,
     * nvidia-smi's numbering; runtime/instance/gpu-select.ts). Local instances only: on Kubernetes the
     * device plugin gives each pod its GPU, and this is ignored.
     */
    gpu?: number;
    /**
     * Serve LoRA adapters on this (base) deployment's instances: `slots` adapters resident at once, each
     * padded to `maxRank` (at most 64; default 16), on these projections (default all seven PEFT names).
     */
    adapters?: { slots: number; maxRank?: number; targets?: LoraTargetName[] };
  };
  /** The stable version's number: the fields above are its own. Default 1 (versions.ts). */
  version?: number;
  /** The deployment's other versions: a canary, or a former stable kept for rollback. */
  versions?: VersionSpec[];
  /** How requests split between versions, in percent summing to 100. Left out: all to the stable one. */
  traffic?: TrafficTarget[];
  /** Stickiness, automatic rollback, and the rollout's history. */
  rollout?: RolloutSettings;
}

/**
 * A version of a deployment other than the stable one (whose fields are the deployment's own): a
 * canary, or a former stable kept for rollback. What it leaves out it takes from the stable version.
 */
export interface VersionSpec {
  version: number;
  model: ModelArtifact;
  runtime?: DeploymentSpec['runtime'];
  batching?: DeploymentSpec['batching'];
  scaling?: Partial<ScalingPolicy>;
}

/** The projections an adapter may target (PEFT's module names), as the runtime's graph names them. */
export type LoraTargetName = LoraTarget;

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;

const schema: JSONSchemaType<DeploymentSpec> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'scaling'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' },
    kind: { type: 'string', enum: ['generative', 'tensor', 'adapter', 'pipeline'] },
    steps: { ...STEPS_SCHEMA, nullable: true } as never,
    output: { type: 'string', nullable: true, maxLength: 1024 },
    base: { type: 'string', nullable: true, pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' },
    model: {
      type: 'object',
      nullable: true,
      oneOf: [
        {
          type: 'object',
          required: ['path'],
          additionalProperties: false,
          properties: { path: { type: 'string', minLength: 1 } },
        },
        {
          type: 'object',
          required: ['url', 'sha256'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', pattern: '^https?://' },
            sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          },
        },
      ],
    } as never,
    inputSchema: { type: 'object', nullable: true, required: [] },
    promptTemplate: { type: 'string', nullable: true, minLength: 1, maxLength: 65_536 },
    runtime: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: [],
      properties: {
        executionProviders: {
          type: 'array',
          nullable: true,
          minItems: 1,
          maxItems: 4,
          uniqueItems: true,
          items: { type: 'string', enum: ['cpu', 'webgpu', 'cuda', 'tensorrt'] },
        },
        requireExecutionProvider: { type: 'boolean', nullable: true },
        kvDtype: { type: 'string', nullable: true, enum: ['float32', 'float16'] },
        gpu: { type: 'integer', nullable: true, minimum: 0, maximum: 63 },
        adapters: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          required: ['slots'],
          properties: {
            slots: { type: 'integer', minimum: 1, maximum: 1024 },
            maxRank: { type: 'integer', nullable: true, minimum: 1, maximum: 64 },
            targets: {
              type: 'array',
              nullable: true,
              minItems: 1,
              uniqueItems: true,
              items: { type: 'string', enum: [...LORA_TARGETS] },
            },
          },
        },
      },
    },
    version: VERSION_FIELDS_SCHEMA.version as never,
    versions: VERSION_FIELDS_SCHEMA.versions as never,
    traffic: VERSION_FIELDS_SCHEMA.traffic as never,
    rollout: VERSION_FIELDS_SCHEMA.rollout as never,
    allowedKeys: {
      type: 'array',
      nullable: true,
      maxItems: 10_000,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[0-9a-f]{12}$' },
    },
    batching: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: [],
      properties: {
        maxRunningSeqs: { ...int(1, 4096), nullable: true },
        maxBatchedTokens: { ...int(1, 65536), nullable: true },
        kvCacheBytes: { ...int(1024, 2 ** 40), nullable: true },
        maxBatchSize: { ...int(1, 4096), nullable: true },
        preferredBatchSizes: { type: 'array', nullable: true, items: int(1, 4096) },
        maxQueueDelayMs: { ...int(0, 60_000), nullable: true },
      },
    },
    sequence: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['state'],
      properties: {
        state: {
          type: 'array',
          minItems: 1,
          maxItems: 64,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['input', 'output'],
            properties: {
              input: { type: 'string', pattern: '^[^,:]{1,256}$' },
              output: { type: 'string', pattern: '^[^,:]{1,256}$' },
            },
          },
        },
        idleTimeoutMs: { ...int(1, 86_400_000), nullable: true },
        maxSequences: { ...int(1, 1_000_000), nullable: true },
      },
    },
    scaling: {
      type: 'object',
      additionalProperties: false,
      required: ['minInstances', 'maxInstances', 'warmBuffer', 'keepAliveMs', 'ttftSloMs'],
      properties: {
        minInstances: int(0, 1000),
        maxInstances: int(1, 1000),
        warmBuffer: int(0, 1000),
        keepAliveMs: int(0, 86_400_000),
        ttftSloMs: int(1, 600_000),
        policy: {
          type: 'string',
          enum: ['reactive', 'keepalive', 'histogram', 'predictive', 'costaware', 'tuned'],
          nullable: true,
        },
        knobs: {
          type: 'object',
          nullable: true,
          required: [],
          additionalProperties: { type: 'number' },
          maxProperties: 32,
        } as never,
        capacityPerInstance: { type: 'number', exclusiveMinimum: 0, maximum: 100_000, nullable: true },
        coldStartCost: { type: 'number', exclusiveMinimum: 0, maximum: 1e9, nullable: true },
      },
    },
  },
};

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(schema);

/**
 * Checks a deployment as the admin API receives it: the schema, the rules a schema cannot say, and that
 * its input schema is itself a valid JSON Schema (compiled here, once). Throws deployment_invalid
 * naming the field to fix. Returns the spec with the scaling defaults set where it left fields out.
 */
export function checkDeployment(received: unknown): DeploymentSpec {
  // Versions are checked in versions.ts (checkVersionedDeployment), each as a deployment of its own.
  const value = withScalingDefaults(received);
  if (!validate(value)) {
    const e = validate.errors?.[0];
    const at = e?.instancePath.slice(1).replaceAll('/', '.') ?? '';
    let field = at;
    let problem = e?.message ?? 'is invalid';
    if (e?.schemaPath.includes('/oneOf/') && at.startsWith('model')) {
      field = 'model';
      problem = 'must be { path } or { url, sha256 }'; // model: either form, reported once
    } else if (e?.schemaPath.includes('/oneOf/') && /^steps\.[^.]+\.prompt/.test(at)) {
      field = at.split('.').slice(0, 3).join('.');
      problem = 'must be a template string or { by, cases: [..] | {..}, default? }';
    } else if (e?.keyword === 'required') {
      field = at ? `${at}.${String(e.params.missingProperty)}` : String(e.params.missingProperty);
      problem = 'is required';
    } else if (e?.keyword === 'additionalProperties') {
      field = at ? `${at}.${String(e.params.additionalProperty)}` : String(e.params.additionalProperty);
      problem = 'is not a deployment field';
    }
    const message = field ? `deployment field '${field}' ${problem}` : `the deployment ${problem}`;
    throw new ApiError('deployment_invalid', message, { param: field });
  }
  const fail = (param: string, message: string): never => {
    throw new ApiError('deployment_invalid', message, { param });
  };
  const s = value.scaling;
  if (s.minInstances > s.maxInstances) {
    fail(
      'scaling.minInstances',
      `scaling.minInstances (${s.minInstances}) must not exceed maxInstances (${s.maxInstances})`,
    );
  }
  const b = value.batching;
  if (b?.preferredBatchSizes && b.maxBatchSize && b.preferredBatchSizes.some((n) => n > b.maxBatchSize!)) {
    fail(
      'batching.preferredBatchSizes',
      'batching.preferredBatchSizes must not exceed batching.maxBatchSize',
    );
  }
  if (value.promptTemplate !== undefined && value.kind === 'tensor') {
    fail('promptTemplate', 'promptTemplate is for generative deployments and adapters only');
  }
  if (value.kind === 'pipeline') checkPipelineFields(value, fail);
  else if (value.model === undefined) fail('model', "deployment field 'model' is required");
  else
    for (const field of ['steps', 'output'] as const)
      if (value[field] !== undefined)
        fail(field, `${field} is for pipelines only (kind: pipeline), not ${value.kind}`);
  if (value.sequence !== undefined && value.kind !== 'tensor')
    fail('sequence', 'sequence is for tensor deployments only');
  if (value.kind === 'adapter') checkAdapterFields(value, fail);
  else if (value.base !== undefined)
    fail('base', `base is for adapters only (kind: adapter), not ${value.kind}`);
  if (value.inputSchema) {
    let async = false;
    try {
      const compiled = new Ajv({ strict: false }).compile(value.inputSchema);
      async = (compiled as { $async?: unknown }).$async === true;
    } catch (err) {
      fail('inputSchema', `inputSchema is not a valid JSON Schema: ${(err as Error).message}`);
    }
    // An async schema answers with a Promise, which a synchronous check would read as "valid".
    if (async) fail('inputSchema', 'inputSchema must not be $async');
  }
  return value;
}

/**
 * What an adapter may hold: its base and a folder (instances read it); no instances of its own, so
 * nothing that configures them. Whether the base exists and serves adapters is the registry's check.
 */
function checkAdapterFields(d: DeploymentSpec, fail: (param: string, message: string) => never): void {
  if (d.base === undefined) fail('base', 'an adapter needs base: the generative deployment that serves it');
  if (d.base === d.name) fail('base', `adapter '${d.name}' cannot be its own base`);
  if (d.model === undefined || !('path' in d.model))
    fail('model', 'an adapter is read from a folder: model must be { path } (the PEFT adapter folder)');
  for (const field of ['batching', 'runtime'] as const)
    if (d[field] !== undefined)
      fail(field, `an adapter runs on its base's instances: set ${field} on '${d.base}', not on the adapter`);
}
