import { readFileSync } from 'node:fs';
import { KubeConfig, type V1Toleration } from '@kubernetes/client-node';
import type { Environment } from '../../gateway/config/environment.ts';
import type { CONTROLLER_ENVIRONMENT } from '../config/controller-environment.ts';
import type { PodOptions } from '../providers/index.ts';
import { KubernetesProvider } from '../providers/kubernetes/index.ts';
import { LocalProvider, type Provider } from '../providers/index.ts';

type ControllerEnvironment = Environment<typeof CONTROLLER_ENVIRONMENT>;

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * How runtime pods are made, from the controller's environment. Pure but for the default namespace, read
 * from the pod's service account when WARMGATE_NAMESPACE is unset. Throws naming what is missing.
 */
export function podOptionsFrom(
  env: ControllerEnvironment,
  readNamespace: () => string = () => readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim(),
): PodOptions {
  if (!env.WARMGATE_RUNTIME_IMAGE) {
    throw new Error("WARMGATE_PROVIDER=kubernetes needs WARMGATE_RUNTIME_IMAGE (the runtime pods' image)");
  }
  let namespace = env.WARMGATE_NAMESPACE;
  if (!namespace) {
    try {
      namespace = readNamespace();
    } catch {
      throw new Error('set WARMGATE_NAMESPACE: not running in a pod, so the namespace cannot be read');
    }
  }
  const gpus = env.WARMGATE_RUNTIME_GPUS ?? 0;
  return {
    namespace,
    image: env.WARMGATE_RUNTIME_IMAGE,
    port: env.WARMGATE_RUNTIME_PORT,
    drainTimeoutMs: env.WARMGATE_DRAIN_TIMEOUT_MS,
    scrape: true,
    // The runtime's spans go where the controller's go.
    ...(env.OTEL_EXPORTER_OTLP_ENDPOINT && {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT },
    }),
    ...(gpus > 0 && { gpu: { resource: 'nvidia.com/gpu', count: gpus } }),
    ...(env.WARMGATE_RUNTIME_NODE_SELECTOR && {
      nodeSelector: JSON.parse(env.WARMGATE_RUNTIME_NODE_SELECTOR) as Record<string, string>,
    }),
    ...(env.WARMGATE_RUNTIME_TOLERATIONS && {
      tolerations: JSON.parse(env.WARMGATE_RUNTIME_TOLERATIONS) as V1Toleration[],
    }),
    ...(env.WARMGATE_RUNTIME_MODEL_CLAIM && {
      modelVolume: {
        claimName: env.WARMGATE_RUNTIME_MODEL_CLAIM,
        mountPath: env.WARMGATE_RUNTIME_MODEL_MOUNT ?? '/models',
      },
    }),
  };
}

/** The provider the controller's environment names: runtime pods, or processes on this host. */
export function providerFrom(env: ControllerEnvironment): Provider {
  if (env.WARMGATE_PROVIDER === 'kubernetes') {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault(); // in a pod: its service account
    return new KubernetesProvider({ kubeConfig, pod: podOptionsFrom(env) });
  }
  return new LocalProvider();
}
