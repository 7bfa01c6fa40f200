import type { EnvironmentSchema } from '../../gateway/config/environment.ts';
import { SHARED_VARIABLES } from '../../gateway/config/gateway-environment.ts';

/**
 * The warm-pool controller process (warmpool/main.ts): scales runtime instances through a provider; with
 * several replicas on one Redis, one leads. Its port serves /live, /ready, /metrics and its status.
 */
export const CONTROLLER_ENVIRONMENT = {
  component: 'controller',
  variables: {
    ...SHARED_VARIABLES,
    PORT: {
      type: 'integer',
      description: 'HTTP port: /live, /ready, /metrics and /admin/v1/controller.',
      default: 8081,
      minimum: 1,
    },
    WARMGATE_ADMIN_TOKEN: {
      type: 'string',
      description: "Bearer token of the controller's status API (/admin/v1); without one it answers 401.",
      secret: true,
    },
    WARMGATE_PROVIDER: {
      type: 'string',
      description: 'Where runtime instances run: pods through the Kubernetes API, or processes on this host.',
      enum: ['kubernetes', 'local'],
      default: 'local',
    },
    WARMGATE_NAMESPACE: {
      type: 'string',
      description:
        "Namespace runtime pods are created in (kubernetes provider). Default: the pod's own namespace.",
    },
    WARMGATE_RUNTIME_IMAGE: {
      type: 'string',
      description: 'Container image of runtime pods (kubernetes provider).',
    },
    WARMGATE_RUNTIME_PORT: {
      type: 'integer',
      description: "The runtime's port inside its pod.",
      default: 8080,
      minimum: 1,
    },
    WARMGATE_RUNTIME_GPUS: {
      type: 'integer',
      description: 'nvidia.com/gpu each runtime pod requests (0: a CPU pod).',
      default: 0,
      minimum: 0,
    },
    WARMGATE_RUNTIME_NODE_SELECTOR: {
      type: 'string',
      description: 'Node selector of runtime pods, as a JSON object, e.g. {"nvidia.com/gpu.present":"true"}.',
      json: 'object',
    },
    WARMGATE_RUNTIME_TOLERATIONS: {
      type: 'string',
      description: 'Tolerations of runtime pods, as a JSON array of Kubernetes tolerations.',
      json: 'array',
    },
    WARMGATE_RUNTIME_MODEL_CLAIM: {
      type: 'string',
      description: 'PersistentVolumeClaim holding model folders, mounted read-only in runtime pods.',
    },
    WARMGATE_RUNTIME_MODEL_MOUNT: {
      type: 'string',
      description: 'Where that claim is mounted in runtime pods; deployment model paths are under it.',
      default: '/models',
    },
    WARMGATE_DRAIN_TIMEOUT_MS: {
      type: 'integer',
      description: 'How long a runtime instance may drain in-flight requests when it is stopped.',
      default: 30_000,
      minimum: 0,
    },
    WARMGATE_TICK_MS: {
      type: 'integer',
      description: 'Controller tick; a request waiting at zero instances triggers one at once.',
      default: 500,
      minimum: 10,
    },
    WARMGATE_LEASE_TTL_MS: {
      type: 'integer',
      description: "The leader lease's TTL: a dead leader is replaced after about this long.",
      default: 3000,
      minimum: 100,
    },
    WARMGATE_POLICY: {
      type: 'string',
      description: 'Scaling policy of deployments that name none.',
      enum: ['predictive', 'reactive', 'keepalive', 'histogram', 'costaware', 'tuned'],
      default: 'predictive',
    },
    WARMGATE_SCALE_TO_ZERO: {
      type: 'boolean',
      description: 'Whether an idle deployment with minInstances 0 may scale to zero.',
      default: true,
    },
    WARMGATE_UNRESPONSIVE_LIMIT: {
      type: 'integer',
      description:
        'Controller ticks in a row a ready instance may fail its /live probe (hung, frozen) before it is killed and replaced.',
      default: 3,
      minimum: 1,
    },
  },
  required: ['REDIS_URL'],
} as const satisfies EnvironmentSchema;
