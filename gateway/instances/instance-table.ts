import { EventEmitter } from 'node:events';
import { type Clock, systemClock, unrefTimer } from '../../runtime/time/clock.ts';
import { instanceState, UpstreamInstance } from './upstream-instance.ts';
import type { InstanceMetadata, LoadReport } from './types.ts';

export interface InstanceTableOptions {
  /** How often each instance's readiness and load are polled. */
  readonly pollIntervalMs?: number;
  /** A poll that takes longer counts as unreachable. */
  readonly pollTimeoutMs?: number;
  /** Longest silence of an instance on a request (UpstreamInstanceOptions.idleTimeoutMs). Default 60 s. */
  readonly upstreamIdleTimeoutMs?: number;
  /** Schedules the polls. Default systemClock. */
  readonly clock?: Clock;
}

/**
 * The runtime instances behind each deployment. Instances are added by whoever starts them (the demo
 * launcher, the warm-pool controller); the registry polls each for readiness, load and metadata, and
 * announces 'ready' when one becomes routable so queued requests can go. It is the one owner of each
 * instance's health and count of requests in flight: the proxy reports through its methods.
 */
export class InstanceTable extends EventEmitter<{
  ready: [UpstreamInstance];
  removed: [UpstreamInstance];
  /** A request timed out on the instance's silence: whoever runs it should recycle it. */
  hung: [UpstreamInstance];
}> {
  readonly #byDeployment = new Map<string, UpstreamInstance[]>();
  readonly #pollIntervalMs: number;
  readonly #pollTimeoutMs: number;
  readonly #idleTimeoutMs: number | undefined;
  readonly #clock: Clock;
  readonly #timers = new Map<UpstreamInstance, unknown>();
  #seq = 0;

  constructor(o: InstanceTableOptions = {}) {
    super();
    this.#pollIntervalMs = o.pollIntervalMs ?? 500;
    this.#pollTimeoutMs = o.pollTimeoutMs ?? 2000;
    this.#idleTimeoutMs = o.upstreamIdleTimeoutMs;
    this.#clock = o.clock ?? systemClock;
  }

  /** Adds an instance and polls it at once; resolves after that first poll. */
  async add(deployment: string, url: string): Promise<UpstreamInstance> {
    const inst = new UpstreamInstance({
      id: `${deployment}-${++this.#seq}`,
      deployment,
      url,
      idleTimeoutMs: this.#idleTimeoutMs,
    });
    const list = this.#byDeployment.get(deployment) ?? [];
    list.push(inst);
    this.#byDeployment.set(deployment, list);
    await this.#poll(inst);
    return inst;
  }

  async remove(inst: UpstreamInstance): Promise<void> {
    const list = this.#byDeployment.get(inst.deployment);
    if (!list?.includes(inst)) return;
    list.splice(list.indexOf(inst), 1);
    this.#clock.clearTimeout(this.#timers.get(inst));
    this.#timers.delete(inst);
    this.emit('removed', inst);
    await inst.close();
  }

  instances(deployment: string): readonly UpstreamInstance[] {
    return this.#byDeployment.get(deployment) ?? [];
  }

  routable(deployment: string): UpstreamInstance[] {
    return this.instances(deployment).filter((i) => i.routable);
  }

  /** The metadata of any instance of the deployment that has reported it. */
  metadata(deployment: string): InstanceMetadata | null {
    return this.instances(deployment).find((i) => i.metadata)?.metadata ?? null;
  }

  /** A request was sent to the instance; routing counts it until endRequest. */
  startRequest(inst: UpstreamInstance): void {
    instanceState.startRequest(inst);
  }

  /** A request started with startRequest ended (its response ended, or it failed); call once. */
  endRequest(inst: UpstreamInstance): void {
    instanceState.endRequest(inst);
  }

  /** An instance refused or failed before its first byte: out of routing until a poll says otherwise. */
  /** The instance answered a request under adapter `id`, so it holds it (until its next poll says). */
  noteAdapter(inst: UpstreamInstance, id: string): void {
    instanceState.addAdapter(inst, id);
  }

  markFailed(inst: UpstreamInstance, draining: boolean): void {
    instanceState.setHealth(inst, draining ? 'draining' : 'unreachable');
  }

  /**
   * A request timed out on the instance's silence: out of routing until a poll finds it answering, and
   * announced ('hung') so that the controller recycles it.
   */
  markHung(inst: UpstreamInstance): void {
    instanceState.setHealth(inst, 'unreachable');
    instanceState.countHung(inst);
    this.emit('hung', inst);
  }

  all(): UpstreamInstance[] {
    return [...this.#byDeployment.values()].flat();
  }

  async close(): Promise<void> {
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.all().map((i) => i.close()));
    this.#byDeployment.clear();
  }

  async #poll(inst: UpstreamInstance): Promise<void> {
    const wasRoutable = inst.routable;
    try {
      // One request a poll: the load report carries the instance's state too.
      const load = (await this.#get(inst, '/load')) as LoadReport;
      const health = load.state === 'ready' ? 'ready' : load.state === 'draining' ? 'draining' : 'starting';
      instanceState.setHealth(inst, health);
      instanceState.setLoad(inst, load);
      if (Array.isArray(load.adapters)) instanceState.setAdapters(inst, load.adapters);
      if (health === 'ready' && inst.metadata === null) {
        instanceState.setMetadata(inst, (await this.#get(inst, '/metadata')) as InstanceMetadata);
      }
    } catch {
      instanceState.setHealth(inst, 'unreachable');
    }
    if (!wasRoutable && inst.routable) this.emit('ready', inst);
    if (this.instances(inst.deployment).includes(inst)) {
      const t = this.#clock.setTimeout(() => void this.#poll(inst), this.#pollIntervalMs);
      this.#timers.set(inst, unrefTimer(t));
    }
  }

  async #get(inst: UpstreamInstance, path: string): Promise<unknown> {
    const res = await inst.pool.request({
      path,
      method: 'GET',
      signal: AbortSignal.timeout(this.#pollTimeoutMs),
    });
    return res.body.json();
  }
}
