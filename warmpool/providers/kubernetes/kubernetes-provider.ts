import { ApiException, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { type Clock, systemClock } from '../../../runtime/time/clock.ts';
import type { InstanceExit, InstanceHealth, Provider, ProviderInstance, StartSpec } from '../provider.ts';
import { DEFAULT_PORT, LABELS, MANAGED_BY, type PodOptions, podName, runtimePod, SPEC } from './pod-spec.ts';
import { podExit, podHealth, podUrl } from './pod-state.ts';

export interface KubernetesProviderOptions {
  /** Where the API server is and how to authenticate (loadFromDefault(), loadFromCluster(), ...). */
  readonly kubeConfig: KubeConfig;
  /** How runtime pods are made; its namespace is the one this provider creates, lists and deletes in. */
  readonly pod: PodOptions;
  /** How often stop() reads a deleted pod until it is gone. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** How long stop() waits past the drain timeout for the pod to disappear. Default 30 000 ms. */
  readonly stopMarginMs?: number;
  /** Default systemClock. */
  readonly clock?: Clock;
}

/** An instance whose URL becomes known when its pod gets an IP (health() stays 'starting' until then). */
class PodInstance implements ProviderInstance {
  url = '';
  constructor(
    readonly id: string,
    readonly deployment: DeploymentSpec,
    readonly startedAt: number,
  ) {}
}

interface Known {
  readonly instance: PodInstance;
  exit?: InstanceExit;
}

const SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;

/**
 * Runtime instances as pods, one per instance, through the Kubernetes API. The pods carry warmgate labels,
 * so list() finds them again after a controller restart (adoption) with their deployment from an
 * annotation. Pods use restartPolicy Never: a crashed instance is gone and the pool replaces it.
 */
export class KubernetesProvider implements Provider {
  readonly #api: CoreV1Api;
  readonly #pod: PodOptions;
  readonly #ns: string;
  readonly #port: number;
  readonly #pollMs: number;
  readonly #marginMs: number;
  readonly #clock: Clock;
  readonly #known = new Map<string, Known>();

  constructor(o: KubernetesProviderOptions) {
    this.#api = o.kubeConfig.makeApiClient(CoreV1Api);
    this.#pod = o.pod;
    this.#ns = o.pod.namespace;
    this.#port = o.pod.port ?? DEFAULT_PORT;
    this.#pollMs = o.pollIntervalMs ?? 1000;
    this.#marginMs = o.stopMarginMs ?? 30_000;
    this.#clock = o.clock ?? systemClock;
  }

  async start({ deployment, instanceId }: StartSpec): Promise<ProviderInstance> {
    if (this.#known.has(instanceId)) throw new Error(`instance ${instanceId} already exists`);
    const body = runtimePod(deployment, instanceId, this.#pod); // throws for what cannot run
    const created = await this.#api.createNamespacedPod({ namespace: this.#ns, body });
    const k: Known = { instance: new PodInstance(instanceId, deployment, this.#clock.now()) };
    this.#known.set(instanceId, k);
    this.#see(k, created);
    return k.instance;
  }

  async stop(id: string, o: { drainTimeoutMs: number }): Promise<InstanceExit | undefined> {
    const k = this.#known.get(id);
    if (k?.exit) return k.exit;
    const gracePeriodSeconds = Math.ceil(o.drainTimeoutMs / 1000);
    const name = podName(id);
    try {
      // The kubelet sends SIGTERM (the runtime drains), then SIGKILL after the grace period.
      await this.#api.deleteNamespacedPod({ name, namespace: this.#ns, gracePeriodSeconds });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return k?.exit;
    }
    const deadline = this.#clock.now() + o.drainTimeoutMs + this.#marginMs;
    while (this.#clock.now() < deadline) {
      const pod = await this.#read(name);
      if (!pod) break;
      if (k) this.#see(k, pod);
      if (k?.exit) break;
      await new Promise<void>((res) => this.#clock.setTimeout(res, this.#pollMs));
    }
    return k?.exit;
  }

  async list(): Promise<ProviderInstance[]> {
    const pods = await this.#api.listNamespacedPod({ namespace: this.#ns, labelSelector: SELECTOR });
    const out: ProviderInstance[] = [];
    for (const pod of pods.items) {
      const k = this.#known.get(pod.metadata?.labels?.[LABELS.instance] ?? '') ?? this.#adopt(pod);
      if (!k) continue;
      this.#see(k, pod);
      if (podHealth(pod) !== 'gone') out.push(k.instance);
    }
    return out;
  }

  async health(id: string): Promise<InstanceHealth> {
    const k = this.#known.get(id);
    if (!k || k.exit) return 'gone';
    const pod = await this.#read(podName(id));
    if (!pod) return 'gone';
    this.#see(k, pod);
    const h = podHealth(pod);
    // Ready without a URL cannot be routed to; it cannot happen (Ready needs an IP), but stay safe.
    return h === 'ready' && !k.instance.url ? 'starting' : h;
  }

  exitOf(id: string): InstanceExit | undefined {
    return this.#known.get(id)?.exit;
  }

  /** Records what a pod read says: its URL once it has an IP, its exit once it ended. */
  #see(k: Known, pod: V1Pod): void {
    k.instance.url ||= podUrl(pod, this.#port) ?? '';
    k.exit ??= podHealth(pod) === 'gone' ? podExit(pod) : undefined;
  }

  /** A pod this provider did not start (a previous controller did): known again from its labels. */
  #adopt(pod: V1Pod): Known | undefined {
    const id = pod.metadata?.labels?.[LABELS.instance];
    const spec = pod.metadata?.annotations?.[SPEC];
    if (!id || !spec) return undefined; // not one of ours in a form we can serve
    let deployment: DeploymentSpec;
    try {
      deployment = JSON.parse(spec) as DeploymentSpec;
    } catch {
      return undefined;
    }
    const startedAt = pod.metadata?.creationTimestamp?.getTime() ?? this.#clock.now();
    const k: Known = { instance: new PodInstance(id, deployment, startedAt) };
    this.#known.set(id, k);
    return k;
  }

  async #read(name: string): Promise<V1Pod | undefined> {
    try {
      return await this.#api.readNamespacedPod({ name, namespace: this.#ns });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}
