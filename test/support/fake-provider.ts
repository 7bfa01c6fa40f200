// A fake Provider for unit tests of the decision and its actuation (controller, warm pool): instances
// are records whose health follows a clock and what the test says, so a test can name the exact instant
// an instance becomes ready, crashes or finishes draining. It stands in for LocalProvider only there;
// the real provider, with real instance processes, is tested in test/warmpool/local-provider.test.ts and
// the platform's live tests.
import type { Clock } from '../../runtime/time/clock.ts';
import type { StartTimings } from '../../warmpool/lifecycle/index.ts';
import type {
  InstanceExit,
  InstanceHealth,
  Provider,
  ProviderInstance,
  StartSpec,
} from '../../warmpool/providers/index.ts';

/** How a started instance behaves, timed from its start on the clock. */
export interface FakeStart {
  /** Ready (answers /ready) this long after its start; absent: starting until the test says otherwise. */
  readonly readyAfterMs?: number;
  /** Exits with code 1 this long after its start, before it is ready (e.g. a model that does not load). */
  readonly failAfterMs?: number;
  /** What it wrote to stderr before it failed. */
  readonly stderrTail?: string;
}

interface FakeInstance {
  readonly instance: ProviderInstance;
  readonly readyAt?: number;
  readonly failAt?: number;
  readonly stderrTail: string;
  /** A health the test set, over what the clock says. */
  health?: InstanceHealth;
  /** Its requests in flight end at this instant (a drain waits for them). */
  busyUntil: number;
  draining?: { readonly until: number; readonly exit: InstanceExit };
  exit?: InstanceExit;
}

export class FakeProvider implements Provider {
  readonly #clock: Clock;
  readonly #instances = new Map<string, FakeInstance>();
  /** Ids started, in order. */
  readonly started: string[] = [];
  /** Ids asked to stop, in order. */
  readonly stopped: string[] = [];
  /** How the next instances behave (an Error: their start rejects with it). Default: they stay starting. */
  behaviour: (spec: StartSpec) => FakeStart | Error = () => ({});

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async start(spec: StartSpec): Promise<ProviderInstance> {
    const b = this.behaviour(spec);
    if (b instanceof Error) throw b;
    const now = this.#clock.now();
    const id = spec.instanceId;
    const instance = { id, deployment: spec.deployment, url: `http://fake/${id}`, startedAt: now };
    this.started.push(id);
    this.#instances.set(id, {
      instance,
      ...(b.readyAfterMs !== undefined && { readyAt: now + b.readyAfterMs }),
      ...(b.failAfterMs !== undefined && { failAt: now + b.failAfterMs }),
      stderrTail: b.stderrTail ?? '',
      busyUntil: now,
    });
    return instance;
  }

  /**
   * Drains: an instance ends (code 0) once its requests in flight are done, or is killed (SIGKILL) at
   * the drain timeout; resolves then, on the clock.
   */
  async stop(id: string, o: { drainTimeoutMs: number }): Promise<InstanceExit | undefined> {
    this.stopped.push(id);
    const f = this.#settled(id);
    if (!f) return undefined;
    if (f.exit) return f.exit;
    const now = this.#clock.now();
    const until = Math.min(Math.max(now, f.busyUntil), now + o.drainTimeoutMs);
    const exit: InstanceExit =
      f.busyUntil <= now + o.drainTimeoutMs
        ? { code: 0, signal: null, stderrTail: '' }
        : { code: null, signal: 'SIGKILL', stderrTail: '' };
    f.draining = { until, exit };
    if (until <= now) return this.#settled(id)!.exit;
    return new Promise((resolve) =>
      this.#clock.setTimeout(() => resolve(this.#settled(id)!.exit), until - now),
    );
  }

  async list(): Promise<ProviderInstance[]> {
    return [...this.#instances.keys()]
      .filter((id) => !this.#settled(id)!.exit)
      .map((id) => this.#instances.get(id)!.instance);
  }

  async health(id: string): Promise<InstanceHealth> {
    const f = this.#settled(id);
    if (!f || f.exit) return 'gone';
    if (f.draining) return 'draining';
    if (f.health) return f.health;
    return f.readyAt !== undefined && this.#clock.now() >= f.readyAt ? 'ready' : 'starting';
  }

  exitOf(id: string): InstanceExit | undefined {
    return this.#settled(id)?.exit;
  }

  /** The start-up moments seen so far, as LocalProvider reports them (the pool stamps its phases with them). */
  timings(id: string): StartTimings | undefined {
    const f = this.#settled(id);
    if (!f) return undefined;
    const ready = f.readyAt !== undefined && this.#clock.now() >= f.readyAt;
    return { spawnedAt: f.instance.startedAt, ...(ready && { readyAt: f.readyAt }) };
  }

  /** Sets what health() says of a running instance from now on (e.g. 'ready', 'unresponsive'). */
  setHealth(id: string, health: InstanceHealth): void {
    this.#instances.get(id)!.health = health;
  }

  /** The instance has requests in flight until `at`: a drain waits for them. */
  busyUntil(id: string, at: number): void {
    this.#instances.get(id)!.busyUntil = at;
  }

  /** The instance's process ends now, as `exit` says (e.g. killed: `{ signal: 'SIGKILL' }`). */
  crash(id: string, exit: Partial<InstanceExit> = {}): void {
    this.#instances.get(id)!.exit = { code: 1, signal: null, stderrTail: '', ...exit };
  }

  /** The instance with what happened to it up to now applied: a failure or the end of a drain. */
  #settled(id: string): FakeInstance | undefined {
    const f = this.#instances.get(id);
    if (!f || f.exit) return f;
    const now = this.#clock.now();
    if (f.draining && now >= f.draining.until) f.exit = f.draining.exit;
    else if (!f.draining && f.failAt !== undefined && now >= f.failAt)
      f.exit = { code: 1, signal: null, stderrTail: f.stderrTail };
    return f;
  }
}
