import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import type { DemandFeed } from '../demand-feed/index.ts';
import type { FirstTokenSummary } from '../../gateway/demand-board/index.ts';
import { DemandHistory, type PolicyName, policyNamed } from '../policies/index.ts';
import type { Provider } from '../providers/index.ts';
import {
  WarmPool,
  type WarmPoolOptions,
  type WarmPoolStatus,
  type WarmPoolTarget,
  warmPoolTarget,
} from '../pool/index.ts';
import { Ring } from './decision-ring.ts';
import { MeasuredDeployment } from './measured.ts';
import { policyTarget } from './policy-target.ts';

/** A deployment's demand as the gateway sees it. */
export interface Demand {
  /** Instances' worth of work in flight. */
  readonly inUse: number;
  readonly queued: number;
  readonly lastRequestAt?: number;
  /** Requests in flight (the policies count requests, not instances); default inUse. */
  readonly inFlight?: number;
  /** Times to first token at the instances lately, across gateways (capacity at the SLO). */
  readonly firstToken?: FirstTokenSummary;
}

export interface Decision {
  readonly at: number;
  readonly deployment: string;
  readonly desired: number;
  /** Instances counted towards desired before this tick acted. */
  readonly actual: number;
  readonly reason: string;
  readonly demand?: Demand;
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
  readonly pool?: Omit<WarmPoolOptions, 'deployment' | 'provider'>;
  /**
   * Request history per deployment (warmpool/history-feed). With it, each deployment is decided by its
   * scaling policy (spec.scaling.policy, else `defaultPolicy`) from its history; without it, by the
   * declared target alone (warmPoolTarget: min, buffer, max, keep-alive).
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
 * One control step per tick: for each deployment, read its demand, compute the target and reconcile
 * its pool. A deployment that disappeared drains to zero and its pool is dropped once empty.
 */
export class Controller {
  readonly #o: ControllerOptions;
  readonly #pools = new Map<string, WarmPool>();
  readonly #decisions = new Map<string, Ring<Decision>>();
  readonly #measured = new Map<string, MeasuredDeployment>();
  /** Histories hold every arrival before this instant (the feed's last successful read). */
  #readThrough: number | undefined;

  constructor(o: ControllerOptions) {
    this.#o = o;
  }

  async tick(now: number): Promise<void> {
    const specs = this.#o.deployments();
    // One round trip brings every deployment's history up to date; an outage keeps the last one.
    const read = await this.#o.feed?.update(
      specs.map((d) => d.name),
      now,
    );
    this.#readThrough = read?.ok ? read.readThrough : this.#readThrough;
    const names = new Set(specs.map((d) => d.name));
    const gone = [...this.#pools.values()].filter((p) => !names.has(p.deployment.name));
    await Promise.all([...specs.map((d) => this.#step(d, now)), ...gone.map((p) => this.#retire(p, now))]);
  }

  /** Recent decisions (oldest first) for one deployment, or for all. */
  decisions(deployment?: string): Decision[] {
    if (deployment !== undefined) return this.#decisions.get(deployment)?.toArray() ?? [];
    return [...this.#decisions.values()].flatMap((r) => r.toArray());
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

  async #step(d: DeploymentSpec, now: number): Promise<void> {
    const pool = this.#poolFor(d);
    const actual = pool.actual;
    try {
      const demand = await this.#o.demand(d);
      const target = this.#target(d, pool, demand, now);
      await pool.reconcile(target.desired, now);
      // Read after reconciling, so a failure seen in this tick already shows.
      const backoff = pool.status().backoffUntil;
      const held = backoff !== undefined && now < backoff && pool.actual < target.desired;
      const reason = held ? `${target.reason}; start held back until ${backoff} (crash loop)` : target.reason;
      this.#record({ at: now, deployment: d.name, desired: target.desired, actual, reason, demand });
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

  /** The policy's target when there is a history to decide from, else the declared one. */
  #target(d: DeploymentSpec, pool: WarmPool, demand: Demand, now: number): WarmPoolTarget {
    const scaleToZero = this.#o.scaleToZero ?? true;
    const history = this.#o.feed?.history(d.name);
    if (!history || this.#readThrough === undefined)
      return warmPoolTarget({
        scaling: d.scaling,
        inUse: demand.inUse,
        queued: demand.queued,
        current: pool.actual,
        ...(demand.lastRequestAt !== undefined && { lastRequestAt: demand.lastRequestAt }),
        now,
        scaleToZero,
      });
    const m = this.#measuredFor(d);
    const status = pool.status();
    for (const i of status.instances) if (i.coldStartMs !== undefined) m.coldStart(i.id, i.coldStartMs);
    const inFlight = demand.inFlight ?? demand.inUse;
    // Samples go where the history is complete, so later arrivals never land before them.
    const at = this.#readThrough - 1;
    if (history instanceof DemandHistory) history.observeConcurrency(at, inFlight);
    m.inFlight(at, inFlight);
    const ready = status.instances.filter((i) => i.state === 'ready-idle' || i.state === 'serving').length;
    if (demand.firstToken && ready > 0)
      m.firstTokens(now, inFlight / ready, demand.firstToken, d.scaling.ttftSloMs);
    return policyTarget({
      spec: d,
      policy: policyNamed(d.scaling.policy ?? this.#o.defaultPolicy ?? 'predictive'),
      history,
      pool: { instances: pool.actual, ready, inFlight, queued: demand.queued },
      measured: m.now(history, this.#readThrough, {
        ...(typeof d.scaling.capacityPerInstance === 'number' && { declared: d.scaling.capacityPerInstance }),
        ceiling: this.#o.capacityOf?.(d) ?? 1,
      }),
      tickMs: this.#o.tickMs ?? 500,
      now,
      scaleToZero,
      unseenArrival: demand.lastRequestAt !== undefined && demand.lastRequestAt >= this.#readThrough,
    });
  }

  #measuredFor(d: DeploymentSpec): MeasuredDeployment {
    let m = this.#measured.get(d.name);
    if (!m) {
      m = new MeasuredDeployment({ coldStartMs: this.#o.defaultColdStartMs ?? 3000, serviceMs: 1000 });
      this.#measured.set(d.name, m);
    }
    return m;
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
        this.#measured.delete(name);
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
      pool = new WarmPool({ ...this.#o.pool, deployment: d, provider: this.#o.provider });
      this.#pools.set(d.name, pool);
      this.#o.provider.prepare?.(d); // e.g. its model read into the page cache before the first start
    }
    return pool;
  }

  #record(d: Decision): void {
    let ring = this.#decisions.get(d.deployment);
    if (!ring) this.#decisions.set(d.deployment, (ring = new Ring(this.#o.decisionsKept ?? 50)));
    ring.push(d);
  }
}
