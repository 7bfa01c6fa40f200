import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { type Clock, systemClock } from '../../runtime/time/clock.ts';
import {
  followTimings,
  InstanceLifecycle,
  type InstanceState,
  type PhaseDurations,
  type StartTimings,
} from '../lifecycle/index.ts';
import type { InstanceExit, Provider, ProviderInstance } from '../providers/index.ts';
import { randomBytes } from 'node:crypto';
import { type BackoffPolicy, backoffMs, DEFAULT_BACKOFF } from './backoff.ts';

/** Callbacks through which the gateway's instance registry follows the pool. */
export interface WarmPoolHooks {
  /** The instance answers /ready: it may be routed to. */
  onReady?(instance: ProviderInstance): void;
  /** The instance is being drained: route no new work to it. */
  onDraining?(instance: ProviderInstance): void;
  /** The instance is gone (drained, crashed or never came up). */
  onGone?(instance: ProviderInstance, how: { state: 'stopped' | 'failed'; reason?: string }): void;
}

export interface WarmPoolOptions {
  readonly deployment: DeploymentSpec;
  readonly provider: Provider;
  /** How long a drained instance may finish in-flight work before it is killed. Default 30 s. */
  readonly drainTimeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly hooks?: WarmPoolHooks;
  /** Stamps lifecycles between reconciles (adopt, recycle, a reconcile given no time). Default systemClock. */
  readonly clock?: Clock;
  /** Instance ids; default `<deployment>-<random>`, unique across controllers (one may adopt another's). */
  readonly newId?: () => string;
  /**
   * Reconciles in a row an instance that was up may fail its liveness probe ('unresponsive': hung,
   * frozen) before it is killed and replaced. Default 3.
   */
  readonly unresponsiveLimit?: number;
}

export interface PoolFailure {
  readonly at: number;
  readonly instanceId: string;
  readonly reason: string;
}

export interface PoolInstanceStatus {
  readonly id: string;
  readonly state: InstanceState;
  readonly url?: string;
  readonly coldStartMs?: number;
  readonly phases: PhaseDurations;
  /** When it first became ready-idle (epoch ms). */
  readonly readyAt?: number;
}

export interface WarmPoolStatus {
  readonly deployment: string;
  readonly desired: number;
  readonly instances: PoolInstanceStatus[];
  /** Set while a crash loop holds back new starts. */
  readonly backoffUntil?: number;
  readonly lastFailure?: PoolFailure;
  /** Failures before ready, in a row. */
  readonly consecutiveFailures: number;
}

interface Member {
  readonly life: InstanceLifecycle;
  instance?: ProviderInstance;
  stopping?: Promise<unknown>;
  /** Liveness probes failed in a row since it was up. */
  silent?: number;
}

/** A provider that times start-up phases (LocalProvider does). */
type Timed = Provider & { timings(id: string): StartTimings | undefined };
const isTimed = (p: Provider): p is Timed => typeof (p as Partial<Timed>).timings === 'function';

const STARTING: readonly InstanceState[] = ['requested', 'starting', 'loading', 'warming'];
const LIVE: readonly InstanceState[] = [...STARTING, 'ready-idle', 'serving'];
// Drained first: instances not yet ready, then idle ones, then serving ones.
const DRAIN_RANK: Partial<Record<InstanceState, number>> = {
  requested: 0,
  starting: 0,
  loading: 0,
  warming: 0,
  'ready-idle': 1,
  serving: 2,
};

export function describeExit(exit: InstanceExit | undefined): string {
  if (!exit) return 'gone without an exit status';
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  const last = exit.stderrTail.trim().split('\n').at(-1);
  return last ? `${how}: ${last}` : how;
}

/**
 * The instances of one deployment over a provider. reconcile() observes provider health to move each
 * instance's lifecycle, then starts or drains instances towards `desired`. Scale-down drains (the
 * instance finishes in-flight work); instances that fail before ready back off exponentially.
 */
export class WarmPool {
  readonly deployment: DeploymentSpec;
  readonly #provider: Provider;
  readonly #drainMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #hooks: WarmPoolHooks;
  readonly #clock: Clock;
  readonly #newId: () => string;
  readonly #unresponsiveLimit: number;
  readonly #members = new Map<string, Member>();
  #desired = 0;
  #failures = 0;
  #backoffUntil: number | undefined;
  #lastFailure: PoolFailure | undefined;
  #running: Promise<void> | undefined;

  constructor(o: WarmPoolOptions) {
    this.deployment = o.deployment;
    this.#provider = o.provider;
    this.#drainMs = o.drainTimeoutMs ?? 30_000;
    this.#backoff = o.backoff ?? DEFAULT_BACKOFF;
    this.#hooks = o.hooks ?? {};
    this.#clock = o.clock ?? systemClock;
    this.#newId = o.newId ?? (() => `${o.deployment.name}-${randomBytes(4).toString('hex')}`);
    this.#unresponsiveLimit = o.unresponsiveLimit ?? 3;
  }

  /** Instances that count towards desired: neither draining nor ended. */
  get actual(): number {
    return [...this.#members.values()].filter((m) => LIVE.includes(m.life.state)).length;
  }

  /** Instances of any state still tracked (draining included); 0 once a drained pool is empty. */
  get size(): number {
    return this.#members.size;
  }

  /** One reconcile at a time: a call made while one runs waits for it, then runs its own. */
  async reconcile(desired: number, now: number = this.#clock.now()): Promise<void> {
    const prev = this.#running;
    const run = (async () => {
      await prev?.catch(() => undefined);
      await this.#reconcile(desired, now);
    })();
    this.#running = run;
    try {
      await run;
    } finally {
      if (this.#running === run) this.#running = undefined;
    }
  }

  status(): WarmPoolStatus {
    const until = this.#backoffUntil;
    return {
      deployment: this.deployment.name,
      desired: this.#desired,
      instances: [...this.#members.values()].map(({ life, instance }) => {
        const phases = life.phases();
        const readyAt = life.history.find((h) => h.state === 'ready-idle')?.at;
        return {
          ...(readyAt !== undefined && { readyAt }),
          id: life.id,
          state: life.state,
          ...(instance && { url: instance.url }),
          ...(phases.coldStartMs !== undefined && { coldStartMs: phases.coldStartMs }),
          phases,
        };
      }),
      ...(until !== undefined && { backoffUntil: until }),
      ...(this.#lastFailure && { lastFailure: this.#lastFailure }),
      consecutiveFailures: this.#failures,
    };
  }

  /**
   * Takes over an instance this pool did not start (an earlier controller did; the provider listed it).
   * It enters as starting; the next reconcile reads its health and moves it on (ready, draining, gone).
   * False when the pool already has it.
   */
  adopt(instance: ProviderInstance, now: number = this.#clock.now()): boolean {
    if (this.#members.has(instance.id)) return false;
    const life = new InstanceLifecycle(instance.id, () => now);
    life.move('starting', now);
    this.#members.set(instance.id, { life, instance });
    return true;
  }

  /**
   * Kills an instance reported hung (by id or URL: the gateway knows it by URL) and lets the next
   * reconcile replace it. Its in-flight requests have failed already; there is nothing to drain. False
   * when the pool has no such live instance.
   */
  recycle(idOrUrl: string, reason: string, now: number = this.#clock.now()): boolean {
    for (const m of this.#members.values()) {
      if (m.life.id !== idOrUrl && m.instance?.url !== idOrUrl) continue;
      if (!LIVE.includes(m.life.state)) return false;
      this.#kill(m, `recycled: ${reason}`, now);
      return true;
    }
    return false;
  }

  /** Drains every instance and waits for them to end (shutdown, tests). */
  async close(): Promise<void> {
    await this.reconcile(0);
    await Promise.all([...this.#members.values()].map((m) => m.stopping));
    await this.reconcile(0);
  }

  async #reconcile(desired: number, now: number): Promise<void> {
    this.#desired = desired;
    await Promise.all([...this.#members.values()].map((m) => this.#observe(m, now)));
    for (const [id, m] of this.#members)
      if (m.life.state === 'stopped' || m.life.state === 'failed') this.#members.delete(id);
    if (this.#backoffUntil !== undefined && now >= this.#backoffUntil) this.#backoffUntil = undefined;

    const live = [...this.#members.values()].filter((m) => LIVE.includes(m.life.state));
    if (live.length < desired && this.#backoffUntil === undefined) {
      const n = desired - live.length;
      await Promise.all(Array.from({ length: n }, () => this.#start(now)));
    } else if (live.length > desired) {
      const idlest = live
        .sort(
          (a, b) =>
            DRAIN_RANK[a.life.state]! - DRAIN_RANK[b.life.state]! ||
            b.life.history.at(-1)!.at - a.life.history.at(-1)!.at,
        )
        .slice(0, live.length - desired);
      for (const m of idlest) this.#drain(m, now);
    }
  }

  async #observe(m: Member, now: number): Promise<void> {
    const { life, instance } = m;
    if (!instance || life.state === 'stopped' || life.state === 'failed') return;
    const health = await this.#provider.health(life.id);
    const at = Math.max(now, life.history.at(-1)!.at);
    if (health === 'gone') {
      if (life.state === 'draining') {
        life.move('stopped', at);
        this.#hooks.onGone?.(instance, { state: 'stopped' });
        return;
      }
      const reason = describeExit(this.#provider.exitOf(life.id));
      this.#fail(m, reason, at);
      return;
    }
    if (life.state === 'draining') return;
    if (health === 'unresponsive') {
      m.silent = (m.silent ?? 0) + 1;
      if (m.silent >= this.#unresponsiveLimit && !STARTING.includes(life.state))
        this.#kill(m, `unresponsive: /live did not answer ${m.silent} times in a row`, at);
      return;
    }
    m.silent = 0;
    if (health === 'draining') {
      life.move('draining', at); // drained from outside the pool
      this.#hooks.onDraining?.(instance);
      return;
    }
    if (STARTING.includes(life.state)) {
      const t = isTimed(this.#provider) ? this.#provider.timings(life.id) : undefined;
      if (t) followTimings(life, t);
      if (health === 'ready' && life.state !== 'ready-idle') {
        for (const s of ['loading', 'warming', 'ready-idle'] as const)
          if (life.canMove(s)) life.move(s, Math.max(at, life.history.at(-1)!.at));
      }
      if (life.state === 'ready-idle') {
        this.#failures = 0; // it came up: the crash loop, if any, is over
        this.#hooks.onReady?.(instance);
      }
    }
  }

  async #start(now: number): Promise<void> {
    const id = this.#newId();
    const life = new InstanceLifecycle(id, () => now);
    const m: Member = { life };
    this.#members.set(id, m);
    try {
      m.instance = await this.#provider.start({ deployment: this.deployment, instanceId: id });
      life.move('starting', Math.max(now, m.instance.startedAt));
    } catch (e) {
      this.#fail(m, `start failed: ${(e as Error).message}`, now);
    }
  }

  #drain(m: Member, now: number): void {
    const { life, instance } = m;
    life.move('draining', Math.max(now, life.history.at(-1)!.at));
    if (!instance) return;
    this.#hooks.onDraining?.(instance);
    m.stopping = this.#provider.stop(life.id, { drainTimeoutMs: this.#drainMs }).catch(() => undefined);
  }

  /** Fails the instance (replaced at once: it was up) and kills it, with no drain. */
  #kill(m: Member, reason: string, at: number): void {
    this.#fail(m, reason, at);
    m.stopping = this.#provider.stop(m.life.id, { drainTimeoutMs: 0 }).catch(() => undefined);
  }

  #fail(m: Member, reason: string, at: number): void {
    const beforeReady = STARTING.includes(m.life.state);
    m.life.fail(reason, Math.max(at, m.life.history.at(-1)!.at));
    this.#lastFailure = { at, instanceId: m.life.id, reason };
    if (beforeReady) {
      this.#failures += 1;
      this.#backoffUntil = at + backoffMs(this.#backoff, this.#failures);
    }
    if (m.instance) this.#hooks.onGone?.(m.instance, { state: 'failed', reason });
  }
}
