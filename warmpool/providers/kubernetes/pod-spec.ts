import { createHash } from 'node:crypto';
import type { V1Pod, V1Toleration, V1Volume } from '@kubernetes/client-node';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { instanceArgs } from '../instance-args.ts';

/** Labels every runtime pod carries: how a restarted controller finds (adopts) its instances. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  deployment: 'warmgate.dev/deployment',
  instance: 'warmgate.dev/instance',
} as const;
export const MANAGED_BY = 'warmgate';
/** Annotation with the hash of the deployment spec the pod was made from (to spot stale pods). */
const SPEC_HASH = 'warmgate.dev/spec-hash';
/** Annotation with the deployment spec itself, so an adopted pod comes back with its whole deployment. */
export const SPEC = 'warmgate.dev/deployment-spec';

/** How the deployment's model path reaches the pod: a volume mounted read-only at mountPath. */
export type ModelVolume =
  | { readonly hostPath: string; readonly mountPath: string }
  | { readonly claimName: string; readonly mountPath: string };

export interface PodOptions {
  readonly namespace: string;
  readonly image: string;
  readonly gpu?: { readonly resource: 'nvidia.com/gpu'; readonly count: number };
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly V1Toleration[];
  /** Without one the model path must already be in the image. */
  readonly modelVolume?: ModelVolume;
  /** The runtime's port inside the pod. Default 8080. */
  readonly port?: number;
  /** How long the runtime may drain after SIGTERM before the kubelet kills it. Default 30 000 ms. */
  readonly drainTimeoutMs?: number;
  /** The runtime's command in the image. Default `node dist/runtime/instance/main.js`. */
  readonly command?: readonly string[];
  /** Environment of the runtime container (e.g. OTEL_EXPORTER_OTLP_ENDPOINT, so its spans reach the collector). */
  readonly env?: Readonly<Record<string, string>>;
  /** Adds prometheus.io scrape annotations for the runtime's /metrics. */
  readonly scrape?: boolean;
}

export const DEFAULT_PORT = 8080;
const DEFAULT_COMMAND = ['node', 'dist/runtime/instance/main.js'];

/** The pod name for an instance: a DNS-1123 subdomain, so ids with other characters are folded. */
export function podName(instanceId: string): string {
  const s = instanceId
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `wg-${s}`.slice(0, 253);
}

/** sha256 of the deployment with object keys sorted, so equal specs hash alike whatever their order. */
export function specHash(d: DeploymentSpec): string {
  return createHash('sha256').update(canonical(d)).digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * A GPU pod's driver capabilities: compute for CUDA, graphics for the Vulkan ICD that WebGPU runs on (the
 * NVIDIA container runtime mounts only what is asked for).
 */
const GPU_ENV = { NVIDIA_DRIVER_CAPABILITIES: 'compute,utility,graphics' };

/**
 * The pod that runs one runtime instance of a deployment. Pure: same inputs, same pod. The runtime drains
 * on SIGTERM by itself, so there is no preStop hook; the grace period is the drain timeout.
 */
export function runtimePod(d: DeploymentSpec, instanceId: string, o: PodOptions): V1Pod {
  const port = o.port ?? DEFAULT_PORT;
  // Throws for URL artifacts (nothing fetches them yet); no --gpu: the pod sees only the GPU it was given.
  const args = instanceArgs(d, '0.0.0.0', port, false);
  const command = [...(o.command ?? DEFAULT_COMMAND)];
  const volume: V1Volume | undefined = o.modelVolume && {
    name: 'model',
    ...('hostPath' in o.modelVolume
      ? { hostPath: { path: o.modelVolume.hostPath, type: 'Directory' } }
      : { persistentVolumeClaim: { claimName: o.modelVolume.claimName, readOnly: true } }),
  };
  const gpu = o.gpu && o.gpu.count > 0 ? { [o.gpu.resource]: String(o.gpu.count) } : undefined;
  const probe = (path: string) => ({ httpGet: { path, port }, periodSeconds: 2, timeoutSeconds: 1 });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(instanceId),
      namespace: o.namespace,
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.deployment]: d.name,
        [LABELS.instance]: instanceId,
      },
      annotations: {
        [SPEC_HASH]: specHash(d),
        [SPEC]: JSON.stringify(d),
        ...(o.scrape && {
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(port),
          'prometheus.io/path': '/metrics',
        }),
      },
    },
    spec: {
      restartPolicy: 'Never', // a crashed instance is replaced by the pool, which sees it gone
      terminationGracePeriodSeconds: Math.ceil((o.drainTimeoutMs ?? 30_000) / 1000),
      ...(o.nodeSelector && { nodeSelector: { ...o.nodeSelector } }),
      ...(o.tolerations && { tolerations: o.tolerations.map((t) => ({ ...t })) }),
      ...(volume && { volumes: [volume] }),
      containers: [
        {
          name: 'runtime',
          image: o.image,
          command: [command[0]!],
          args: [...command.slice(1), ...args],
          ports: [{ name: 'http', containerPort: port }],
          ...((o.env || gpu) && {
            env: Object.entries({ ...(gpu && GPU_ENV), ...o.env }).map(([name, value]) => ({ name, value })),
          }),
          // The last log lines become the termination message of a crash: exitOf()'s stderr tail.
          terminationMessagePolicy: 'FallbackToLogsOnError',
          ...(gpu && { resources: { limits: gpu, requests: gpu } }),
          readinessProbe: probe('/ready'),
          livenessProbe: { ...probe('/live'), failureThreshold: 3 },
          ...(o.modelVolume && {
            volumeMounts: [{ name: 'model', mountPath: o.modelVolume.mountPath, readOnly: true }],
          }),
        },
      ],
    },
  };
}
