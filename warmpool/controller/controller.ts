import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import type { DemandFeed } from '../demand-feed/index.ts';
import { DemandHistory, type PolicyName } from '../policies/index.ts';
import type { LogLine, Provider } from '../providers/index.ts';
import { WarmPool, type WarmPoolOptions, type WarmPoolStatus } from '../pool/index.ts';
import {
  type DeciderConfig,
  type DeciderState,
  decide,
  initialDeciderState,
  type Observations,
} from './decide.ts';
import { Ring } from './decision-ring.ts';
import { DeploymentTimeline } from './deployment-timeline.ts';
import type { ControllerTimeline } from '../../gateway/admin/controller-timeline.ts';
import type { Demand } from './demand.ts';
import { AdapterPreloader, adaptersToPreload } from './adapter-preload.ts';
import { shareOfTarget, type VersionPoolSpec, versionPools } from './version-pools.ts';

export interface Decision {
  readonly at: number;
  readonly deployment: string;
  readonly desired: number;
  /** Instances counted towards desired before this tick acted. */
  readonly actual: number;
  readonly reason: string;
  readonly demand?: Demand;
}

/** An instance's recent output, as GET /admin/v1/instances/{id}/logs answers it. */
export interface InstanceLogs {
  readonly instance: string;
  /** False where the provider keeps no output (e.g. pods: `kubectl logs` reads theirs). */
  readonly kept: boolean;
  readonly lines: LogLine[];
}

export interface ControllerOptions {
  readonly deployments: () => readonly DeploymentSpec[];
  readonly demand: (d: DeploymentSpec) => Demand | Promise<Demand>;
  readonly provider: Provider;
  /** Whether idle deployments with minInstances 0 may go to zero. Default true. */
  readonly scaleToZero?: boolean;
  /** Decisions kept per deployment. Default 50. */
  readonly decisionsKept?: number;
  /** Options for each deployment's pool (hooks, drain timeout, backoff). */
  readonly pool?: Omit<WarmPoolOptions, 'deployment' | 'provider' | 'clock'>;
  /** Stamps what happens between ticks (the pools' lifecycles). Default systemClock. */
  readonly clock?: Clock;
  /**
   * Request history per deployment (warmpool/demand-feed). With it, each deployment is decided by its
   * scaling policy (spec.scaling.policy, else `defaultPolicy`) from its history; without it, by the
   * declared target alone (declared-target.ts: min, buffer, max, keep-alive).
   */
  readonly feed?: DemandFeed;
  /** Default 'predictive'. */
  readonly defaultPolicy?: PolicyName;
  /** The loop's tick, told to the policies (they look this far ahead). Default 500 ms. */
  readonly tickMs?: number;
  /** Until measured: a cold start. Default 3000 ms. */
  readonly defaultColdStartMs?: number;
  /** Concurrent requests per instance when the deployment declares no capacityPerInstance. */
  readonly capacityOf?: (d: DeploymentSpec) => number;
}

/**
 * One control step per tick: for each deployment, observe (its demand, its pool, its history), decide
 * (decide.ts, pure) and act (reconcile its pool), then record the decision. A deployment that
 * disappeared drains to zero and its pool is dropped once empty.
 */
export class Controller {
  readonly #o: ControllerOptions;
  readonly #config: DeciderConfig;
  readonly #pools = new Map<string, WarmPool>();
  readonly #decisions = new Map<string, Ring<Decision>>();
  /** Forecast, desired and warm per step, and cold starts: what the status page plots. */
  readonly #timelines = new Map<string, DeploymentTimeline>();
  /** What decide() returned last for each deployment, to decide its next tick from. */
  readonly #states = new Map<string, DeciderState>();
  /** Histories hold every arrival before this instant (the feed's last successful read). */
  #readThrough: number | undefined;
  readonly #preloader = new AdapterPreloader();
  /** Adapters whose own history the feed follows, to forget those deleted. */
  #adapterNames = new Set<string>();

  constructor(o: ControllerOptions) {
    this.#o = o;
    this.#config = Object.freeze({
      scaleToZero: o.scaleToZero ?? true,
      tickMs: o.tickMs ?? 500,
      defaultPolicy: o.defaultPolicy ?? 'predictive',
    });
  }

  async tick(now: number): Promise<void> {
    const all = this.#o.deployments();
    // Adapters have no pool: they run on their base's instances, which serve the base's demand and theirs.
    // Nor do pipelines: each step's call is an arrival of the deployment it calls, which scales on it.
    const specs = all.filter((d) => d.kind !== 'adapter' && d.kind !== 'pipeline');
    const adapters = new Map<string, DeploymentSpec[]>();
    for (const a of all)
      if (a.kind === 'adapter') adapters.set(a.base!, [...(adapters.get(a.base!) ?? []), a]);
    // One round trip brings every history up to date; an outage keeps the last one. A base's history
    // sums its adapters' arrivals; each adapter's own tells which to preload.
    // A deployment with versions runs a pool per version, each sized from its share of the demand.
    const pools = specs.flatMap((d) => versionPools(d, (pool) => this.#hasReady(pool)));
    const read = await this.#o.feed?.update(
      [
        ...pools.map((p) => ({
          name: p.spec.name,
          sources: [p.deployment, ...(adapters.get(p.deployment) ?? []).map((a) => a.name)],
        })),
        ...[...adapters.values()].flat().map((a) => a.name),
      ],
      now,
    );
    this.#readThrough = read?.ok ? read.readThrough : this.#readThrough;
    const adapterNames = new Set([...adapters.values()].flat().map((a) => a.name));
    for (const name of this.#adapterNames) if (!adapterNames.has(name)) this.#o.feed?.forget(name);
    this.#adapterNames = adapterNames;
    const names = new Set(pools.map((p) => p.spec.name));
    const gone = [...this.#pools.values()].filter((p) => !names.has(p.deployment.name));
    await Promise.all([
      ...pools.map((p) => this.#step(p.spec, now, p.share)),
      ...gone.map((p) => this.#retire(p, now)),
    ]);
    this.#preloadAdapters(pools, adapters);
  }

  /** Each base's ready instances, in every version's pool, are asked to load the adapters its history says come next. */
  #preloadAdapters(pools: readonly VersionPoolSpec[], adapters: ReadonlyMap<string, DeploymentSpec[]>): void {
    const readThrough = this.#readThrough;
    const urls: string[] = [];
    for (const { spec, deployment } of pools) {
      const ready = (this.#pools.get(spec.name)?.status().instances ?? [])
        .filter((i) => (i.state === 'ready-idle' || i.state === 'serving') && i.url !== undefined)
        .map((i) => i.url!);
      urls.push(...ready);
      const own = adapters.get(deployment);
      const slots = spec.runtime?.adapters?.slots;
      if (own === undefined || slots === undefined || readThrough === undefined || !this.#o.feed) continue;
      const wanted = adaptersToPreload(
        own.map((a) => ({ spec: a, history: this.#o.feed!.history(a.name) })),
        slots,
        readThrough,
      );
      if (wanted.length > 0) this.#preloader.preload(ready, wanted);
    }
    this.#preloader.keepOnly(urls);
  }

  /** Recent decisions (oldest first) for one deployment, or for all. */
  decisions(deployment?: string): Decision[] {
    if (deployment !== undefined) return this.#decisions.get(deployment)?.toArray() ?? [];
    return [...this.#decisions.values()].flatMap((r) => r.toArray());
  }

  /** A deployment's timeline from `sinceMs` on; undefined for one this controller never decided. */
  timeline(deployment: string, sinceMs: number): ControllerTimeline | undefined {
    return this.#timelines.get(deployment)?.view(sinceMs);
  }

  /** Per deployment: cold starts counted, and the latest forecast (arrivals a minute; null without one). */
  forecastsAndColdStarts(): { deployment: string; coldStarts: number; forecastPerMin: number | null }[] {
    return [...this.#timelines.values()].map((t) => ({
      deployment: t.deployment,
      coldStarts: t.coldStartsTotal,
      forecastPerMin: t.forecastPerMin,
    }));
  }

  status(): WarmPoolStatus[] {
    return [...this.#pools.values()].map((p) => p.status());
  }

  /**
   * Kills an instance reported hung (by the gateway: a request saw no token within its idle timeout) so
   * that its pool replaces it. `idOrUrl`: the pool's id or the instance's URL. False when no pool has it.
   */
  recycle(idOrUrl: string, reason: string, now?: number): boolean {
    for (const pool of this.#pools.values()) if (pool.recycle(idOrUrl, reason, now)) return true;
    return false;
  }

  /**
   * The last `n` output lines of an instance (all kept by default): one of a pool, or one that ended
   * whose lines the provider still holds. Undefined when neither knows the id.
   */
  logs(id: string, n?: number): InstanceLogs | undefined {
    const lines = this.#o.provider.logs?.(id, n);
    if (lines) return { instance: id, kept: true, lines };
    const known = this.status().some((p) => p.instances.some((i) => i.id === id));
    return known ? { instance: id, kept: false, lines: [] } : undefined;
  }

  pool(deployment: string): WarmPool | undefined {
    return this.#pools.get(deployment);
  }

  /**
   * Rebuilds the view from the provider when this controller starts leading: every instance it lists
   * joins its deployment's pool (one of a deleted deployment joins a pool that drains it), so nothing an
   * earlier leader started is duplicated or left running unmanaged. Returns the instances adopted.
   */
  async adopt(now: number): Promise<number> {
    const specs = new Map(this.#o.deployments().map((d) => [d.name, d]));
    let adopted = 0;
    for (const i of await this.#o.provider.list()) {
      const d = specs.get(i.deployment.name) ?? i.deployment;
      if (this.#poolFor(d).adopt(i, now)) adopted++;
    }
    for (const [name, pool] of this.#pools)
      if (pool.size > 0)
        this.#record({
          at: now,
          deployment: name,
          desired: pool.status().desired,
          actual: pool.actual,
          reason: `leading: adopted the ${pool.size} running instance(s) the provider lists`,
        });
    return adopted;
  }

  /**
   * Lets go of every pool without touching its instances: leadership was lost and the next leader
   * adopts them. Decisions are kept.
   */
  forget(): void {
    this.#pools.clear();
  }

  /** Drains every pool and waits for its instances to end. */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }

  /** Whether a pool has an instance that takes requests. */
  #hasReady(pool: string): boolean {
    const instances = this.#pools.get(pool)?.status().instances ?? [];
    return instances.some((i) => i.state === 'ready-idle' || i.state === 'serving');
  }

  async #step(d: DeploymentSpec, now: number, share = 100): Promise<void> {
    const pool = this.#poolFor(d);
    const actual = pool.actual;
    try {
      const demand = await this.#o.demand(d);
      const whole = decide(this.#stateOf(d), this.#observe(d, pool, demand), now);
      this.#states.set(d.name, whole.next);
      const waiting = demand.queued + (demand.inFlight ?? demand.inUse);
      const decision =
        share >= 100
          ? whole
          : {
              ...whole,
              desired: shareOfTarget(
                whole.desired,
                share,
                d.scaling,
                waiting,
                demand.lastRequestAt === undefined ? Infinity : now - demand.lastRequestAt,
              ),
              reason: `${whole.reason}; version share ${share}% of ${whole.desired}`,
            };
      await pool.reconcile(decision.desired, now);
      // Read after reconciling, so a failure seen in this tick already shows.
      const backoff = pool.status().backoffUntil;
      const held = backoff !== undefined && now < backoff && pool.actual < decision.desired;
      const reason = held
        ? `${decision.reason}; start held back until ${backoff} (crash loop)`
        : decision.reason;
      this.#timelineOf(d.name).note(now, decision, pool.status().instances);
      this.#record({ at: now, deployment: d.name, desired: decision.desired, actual, reason, demand });
    } catch (e) {
      this.#record({
        at: now,
        deployment: d.name,
        desired: pool.status().desired,
        actual,
        reason: `error: ${(e as Error).message}`,
      });
    }
  }

  /**
   * What decide() is told of a deployment. With a history, this tick's requests in flight are also
   * sampled into it (where it is complete, so later arrivals never land before the sample), for the
   * policies that read concurrency.
   */
  #observe(d: DeploymentSpec, pool: WarmPool, demand: Demand): Observations {
    const reader = this.#o.feed?.history(d.name);
    const readThrough = this.#readThrough;
    const history = reader && readThrough !== undefined ? { reader, readThrough } : undefined;
    if (history && reader instanceof DemandHistory)
      reader.observeConcurrency(history.readThrough - 1, demand.inFlight ?? demand.inUse);
    return {
      spec: d,
      demand,
      pool: { actual: pool.actual, instances: pool.status().instances },
      ...(history && { history }),
      capacityCeiling: this.#o.capacityOf?.(d) ?? 1,
    };
  }

  #stateOf(d: DeploymentSpec): DeciderState {
    return (
      this.#states.get(d.name) ??
      initialDeciderState(this.#config, { coldStartMs: this.#o.defaultColdStartMs ?? 3000, serviceMs: 1000 })
    );
  }

  async #retire(pool: WarmPool, now: number): Promise<void> {
    const name = pool.deployment.name;
    const actual = pool.actual;
    if (actual > 0)
      this.#record({ at: now, deployment: name, desired: 0, actual, reason: 'deployment removed: draining' });
    try {
      await pool.reconcile(0, now);
    } finally {
      if (pool.size === 0) {
        this.#pools.delete(name);
        this.#states.delete(name);
        this.#timelines.delete(name);
        this.#o.feed?.forget(name);
        this.#record({
          at: now,
          deployment: name,
          desired: 0,
          actual: 0,
          reason: 'deployment removed: pool empty',
        });
      }
    }
  }

  #poolFor(d: DeploymentSpec): WarmPool {
    let pool = this.#pools.get(d.name);
    if (!pool) {
      pool = new WarmPool({
        ...this.#o.pool,
        deployment: d,
        provider: this.#o.provider,
        clock: this.#o.clock ?? systemClock,
      });
      this.#pools.set(d.name, pool);
      this.#o.provider.prepare?.(d); // e.g. its model read into the page cache before the first start
    }
    return pool;
  }

  #timelineOf(deployment: string): DeploymentTimeline {
    let t = this.#timelines.get(deployment);
    if (!t) this.#timelines.set(deployment, (t = new DeploymentTimeline(deployment)));
    return t;
  }

  #record(d: Decision): void {
    let ring = this.#decisions.get(d.deployment);
    if (!ring) this.#decisions.set(d.deployment, (ring = new Ring(this.#o.decisionsKept ?? 50)));
    ring.push(d);
  }
}
