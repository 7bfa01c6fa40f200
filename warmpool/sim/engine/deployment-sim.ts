import { DemandHistory } from '../../policies/demand-history.ts';
import type { Policy, PolicyConfig, PoolState } from '../../policies/types.ts';
import type { Requests } from '../trace/types.ts';
import { routeAdapter } from './adapter-routing.ts';
import { AdapterSlots, type AdapterSettings } from './adapter-slots.ts';
import { EventHeap } from './event-heap.ts';
import { IntQueue } from './int-queue.ts';
import { firstTick, type RunMetrics } from './metrics.ts';

/**
 * How the simulated platform behaves for one deployment: the run's flags, except the cold start and
 * slots a trace states for the deployment (runPolicy puts those in).
 */
export interface EngineSettings {
  /** Requested → ready, ms (PolicyConfig.coldStartMs). */
  readonly coldStartMs: number;
  /** Requests one instance serves at once (PolicyConfig.capacityPerInstance). */
  readonly slots: number;
  /** Controller period, ms; ticks fall on multiples of it. */
  readonly tickMs: number;
  readonly maxInstances: number;
  readonly knobs: Readonly<Record<string, number>>;
  /** The span simulated: ticks run in [startMs, endMs); instances still up at the end count until then. */
  readonly startMs: number;
  readonly endMs: number;
  /** Adapters over a base model: each request names its adapter (Requests.adapter), each instance holds some. */
  readonly adapters?: AdapterSettings;
}

const STARTING = 0;
const READY = 1;
const DRAINING = 2;
const STOPPED = 3;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Instance {
  readonly id: number;
  state: number;
  readonly requestedAt: number;
  readonly readyAt: number;
  busy: number;
  /** When it last became ready with nothing to serve (valid while ready and busy = 0). */
  idleSince: number;
  /** Its resident adapters, when the deployment is a base model serving adapters. */
  readonly adapters?: AdapterSlots;
}

/**
 * Simulates one deployment over its requests, adding to `metrics`. Deployments share nothing (each
 * has its own instances up to maxInstances), so a run simulates them one after another and holds one
 * deployment's requests and history at a time.
 *
 * Events at the same moment go in this order: completions (a slot frees), instances becoming ready,
 * arrivals, controller ticks (so a tick sees the arrivals of its own millisecond).
 */
export function simulateDeployment(
  policy: Policy,
  s: EngineSettings,
  meanServiceMs: number,
  requests: Requests,
  metrics: RunMetrics,
): void {
  new DeploymentSim(policy, s, meanServiceMs, requests, metrics).run();
}

class DeploymentSim {
  readonly #policy: Policy;
  readonly #s: EngineSettings;
  readonly #at: Float64Array;
  readonly #service: Float64Array;
  /** Each request's adapter (adapter runs only). */
  readonly #adapter: Int32Array | undefined;
  /** The instance serving each request, for its completion event. */
  readonly #instanceOf: Int32Array;
  readonly #m: RunMetrics;
  readonly #history = new DemandHistory();
  readonly #pool: Mutable<PoolState> = { instances: 0, ready: 0, inFlight: 0, queued: 0 };
  readonly #input: { config: PolicyConfig; history: DemandHistory; pool: PoolState; now: number };
  /** Instance by id. */
  readonly #byId: Instance[] = [];
  /** Ready and accepting requests, in the order they became ready. */
  readonly #ready: Instance[] = [];
  /** Starting, in start order (so in readyAt order); cancelled ones stay until they reach the head. */
  readonly #starting: Instance[] = [];
  readonly #draining: Instance[] = [];
  readonly #completions = new EventHeap();
  readonly #queue = new IntQueue();
  #startingCount = 0;
  #alive = 0;
  #inFlight = 0;
  /** Free slots on ready (not draining) instances: 0 means an arrival must wait. */
  #freeReady = 0;
  #lastEvent = 0;

  constructor(policy: Policy, s: EngineSettings, meanServiceMs: number, r: Requests, m: RunMetrics) {
    this.#policy = policy;
    this.#s = s;
    this.#at = r.at;
    this.#service = r.serviceMs;
    this.#instanceOf = new Int32Array(r.at.length);
    if (s.adapters !== undefined) {
      if (r.adapter === undefined) throw new Error('sim: an adapter run needs the adapter of each request');
      if (s.adapters.slots < s.slots) throw new RangeError('sim: adapter slots must be at least the slots');
    }
    this.#adapter = s.adapters === undefined ? undefined : r.adapter;
    this.#m = m;
    const config: PolicyConfig = Object.freeze({
      coldStartMs: s.coldStartMs,
      capacityPerInstance: s.slots,
      // A zero mean (sub-millisecond functions) would make every rate need no capacity at all.
      serviceMs: Math.max(1, meanServiceMs),
      minInstances: 0,
      maxInstances: s.maxInstances,
      tickMs: s.tickMs,
      knobs: s.knobs,
    });
    // One input object per deployment, updated in place each tick: policies are pure and keep nothing.
    this.#input = { config, history: this.#history, pool: this.#pool, now: 0 };
  }

  run(): void {
    const at = this.#at;
    const n = at.length;
    const { tickMs, endMs } = this.#s;
    let i = 0;
    let nextTick = firstTick(this.#s.startMs, tickMs);
    this.#m.requests += n;
    this.#m.deployments++;
    for (;;) {
      const tc = this.#completions.peekTime();
      const tr = this.#nextReadyTime();
      const ta = i < n ? at[i]! : Infinity;
      const tt = nextTick < endMs ? nextTick : Infinity;
      if (tc <= tr && tc <= ta && tc <= tt) {
        if (tc === Infinity) break;
        this.#lastEvent = tc;
        this.#complete(tc, this.#completions.pop());
      } else if (tr <= ta && tr <= tt) {
        this.#lastEvent = tr;
        this.#becomeReady(tr, this.#starting.shift()!);
      } else if (ta <= tt) {
        this.#lastEvent = ta;
        this.#arrive(ta, i++);
      } else {
        this.#lastEvent = tt;
        this.#tick(tt);
        nextTick += tickMs;
      }
    }
    // What is still up at the end counts until the end of the span (or of the last request served).
    const end = Math.max(endMs, this.#lastEvent);
    for (const inst of this.#byId) if (inst.state !== STOPPED) this.#stop(end, inst);
  }

  #nextReadyTime(): number {
    const st = this.#starting;
    while (st.length > 0 && st[0]!.state === STOPPED) st.shift();
    return st.length === 0 ? Infinity : st[0]!.readyAt;
  }

  #arrive(t: number, r: number): void {
    this.#history.add(t);
    this.#m.series.arrivals[this.#m.bin(t)]! += 1;
    if (this.#freeReady > 0) {
      const inst = this.#route(r);
      if (inst === undefined) throw new Error('sim: free-slot count out of step with the instances'); // a bookkeeping bug
      this.#freeReady--;
      this.#serve(t, inst, r, false);
      return;
    }
    this.#queue.push(r);
    // The gateway kicks the controller when a request queues for a deployment with no capacity at all.
    if (this.#ready.length + this.#startingCount === 0) this.#start(t);
  }

  /** A ready instance with a free slot for request r: the first (packing load), or by adapter. */
  #route(r: number): Instance | undefined {
    const s = this.#s.slots;
    if (this.#adapter !== undefined) return routeAdapter(this.#ready, s, this.#adapter[r]!);
    for (const inst of this.#ready) if (inst.busy < s) return inst;
    return undefined;
  }

  /** Request r takes a slot of `inst` at t; it starts then, or once its adapter is loaded there. */
  #serve(t: number, inst: Instance, r: number, cold: boolean): void {
    if (inst.busy === 0) this.#m.idleMs += t - inst.idleSince;
    inst.busy++;
    this.#inFlight++;
    let start = t;
    if (inst.adapters !== undefined) {
      const a = this.#adapter![r]!;
      const loaded = !inst.adapters.has(a);
      start = inst.adapters.admit(a, t);
      this.#m.recordAdapterAdmit(loaded, start - t);
    }
    this.#instanceOf[r] = inst.id;
    this.#completions.push(start + this.#service[r]!, r);
    this.#m.recordServed(this.#at[r]!, start - this.#at[r]!, cold);
  }

  #complete(t: number, r: number): void {
    const inst = this.#byId[this.#instanceOf[r]!]!;
    inst.adapters?.release(this.#adapter![r]!);
    inst.busy--;
    this.#inFlight--;
    if (inst.state === DRAINING) {
      if (inst.busy === 0) {
        this.#draining.splice(this.#draining.indexOf(inst), 1);
        this.#stop(t, inst);
      }
      return;
    }
    if (inst.busy === 0) inst.idleSince = t;
    if (this.#queue.size > 0) this.#serve(t, inst, this.#queue.shift(), false);
    else this.#freeReady++;
  }

  #becomeReady(t: number, inst: Instance): void {
    inst.state = READY;
    inst.idleSince = t;
    this.#startingCount--;
    this.#ready.push(inst);
    this.#fill(t, inst, true);
  }

  /** Serves queued requests on `inst`'s free slots; `cold` when it has just come up for them. */
  #fill(t: number, inst: Instance, cold: boolean): void {
    const s = this.#s.slots;
    while (inst.busy < s && this.#queue.size > 0) this.#serve(t, inst, this.#queue.shift(), cold);
    this.#freeReady += s - inst.busy;
  }

  #start(t: number): void {
    const inst: Instance = {
      id: this.#byId.length,
      state: STARTING,
      requestedAt: t,
      readyAt: t + this.#s.coldStartMs,
      busy: 0,
      idleSince: 0,
      ...(this.#s.adapters !== undefined && { adapters: new AdapterSlots(this.#s.adapters) }),
    };
    this.#byId.push(inst);
    this.#starting.push(inst);
    this.#startingCount++;
    this.#alive++;
    this.#m.instancesStarted++;
  }

  #stop(t: number, inst: Instance): void {
    if (inst.state === READY && inst.busy === 0) this.#m.idleMs += t - inst.idleSince;
    if (inst.state === STARTING) this.#startingCount--;
    this.#m.instanceMs += t - inst.requestedAt;
    inst.state = STOPPED;
    this.#alive--;
  }

  #tick(t: number): void {
    const queued = this.#queue.size;
    this.#history.observeConcurrency(t, this.#inFlight + queued);
    const pool = this.#pool;
    pool.instances = this.#ready.length + this.#startingCount;
    pool.ready = this.#ready.length;
    pool.inFlight = this.#inFlight;
    pool.queued = queued;
    this.#input.now = t;
    const { desired } = this.#policy.decide(this.#input);
    this.#reconcile(t, Math.min(desired, this.#s.maxInstances));
    this.#m.sample(t, this.#ready.length + this.#draining.length, this.#alive);
  }

  #reconcile(t: number, desired: number): void {
    let active = this.#ready.length + this.#startingCount;
    // Up: take back draining instances first (they are warm), then start new ones.
    while (active < desired && this.#draining.length > 0) {
      const inst = this.#draining.pop()!;
      inst.state = READY;
      this.#ready.push(inst);
      this.#fill(t, inst, false);
      active++;
    }
    for (; active < desired; active++) this.#start(t);
    if (active <= desired) return;
    let excess = active - desired;
    const s = this.#s.slots;
    // Down, as the live pool does (not ready first, then ready-idle): 1, starting instances that no
    // queued request is waiting for, the newest first; a ready one would be a cold start to get back.
    let spare = this.#startingCount - Math.ceil(this.#queue.size / s);
    for (let k = this.#starting.length - 1; k >= 0 && excess > 0 && spare > 0; k--) {
      const inst = this.#starting[k]!;
      if (inst.state !== STARTING) continue;
      this.#stop(t, inst);
      excess--;
      spare--;
    }
    // 2: idle ready instances, the most recently ready first.
    for (let k = this.#ready.length - 1; k >= 0 && excess > 0; k--) {
      const inst = this.#ready[k]!;
      if (inst.busy > 0) continue;
      this.#ready.splice(k, 1);
      this.#freeReady -= s;
      this.#stop(t, inst);
      excess--;
    }
    // 3: busy instances drain: they take nothing new and stop when their requests are done.
    while (excess > 0 && this.#ready.length > 0 && this.#queue.size === 0) {
      let k = 0;
      for (let j = 1; j < this.#ready.length; j++) if (this.#ready[j]!.busy < this.#ready[k]!.busy) k = j;
      const inst = this.#ready.splice(k, 1)[0]!;
      this.#freeReady -= s - inst.busy;
      inst.state = DRAINING;
      this.#draining.push(inst);
      excess--;
    }
  }
}
