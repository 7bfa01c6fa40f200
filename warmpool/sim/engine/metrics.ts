import { Growable } from '../trace/growable.ts';

/** Per-minute series of one run, for the report. */
export interface Series {
  readonly startMs: number;
  readonly binMs: number;
  readonly arrivals: Float64Array;
  readonly coldStarts: Float64Array;
  /** Mean ready (warm) instances in the bin, over the controller's ticks in it, all deployments. */
  readonly warm: Float64Array;
  /** Mean instances in the bin (starting, ready and draining). */
  readonly instances: Float64Array;
}

/** What adapter loads cost, in a run of adapters over a base model. */
export interface AdapterSummary {
  /** Adapters loaded onto an instance (one per instance and adapter, again after an eviction). */
  readonly adapter_loads: number;
  /** Requests that waited for a load (theirs, or one under way that they share). */
  readonly adapter_load_requests: number;
  /** Latency the loads added, summed over every request, s. */
  readonly adapter_load_wait_s: number;
  /** The same per request, over every request, ms. */
  readonly adapter_load_wait_ms_mean: number;
}

/** The figures of one run (one policy at one setting) over every deployment; adapter runs add theirs. */
export interface RunSummary extends Partial<AdapterSummary> {
  readonly requests: number;
  readonly served: number;
  readonly cold_starts: number;
  readonly cold_start_pct: number;
  readonly wait_ms_p50: number;
  readonly wait_ms_p99: number;
  readonly wait_ms_mean: number;
  readonly instance_seconds: number;
  readonly idle_instance_seconds: number;
  readonly instances_started: number;
  readonly deployments: number;
}

/**
 * What the engine counts while it runs. Waits: only the non-zero ones are kept (most requests find a
 * free slot), so the percentiles are exact at 8 bytes per waiting request.
 */
export class RunMetrics {
  requests = 0;
  served = 0;
  coldStarts = 0;
  instanceMs = 0;
  idleMs = 0;
  instancesStarted = 0;
  deployments = 0;
  readonly waits = new Growable();
  waitSum = 0;
  adapterLoads = 0;
  adapterLoadRequests = 0;
  adapterLoadWaitMs = 0;
  readonly series: Series;
  readonly #ticksPerBin: Float64Array;

  constructor(startMs: number, endMs: number, tickMs: number, binMs = 60_000) {
    const bins = Math.max(1, Math.ceil((endMs - startMs) / binMs));
    this.series = {
      startMs,
      binMs,
      arrivals: new Float64Array(bins),
      coldStarts: new Float64Array(bins),
      warm: new Float64Array(bins),
      instances: new Float64Array(bins),
    };
    this.#ticksPerBin = new Float64Array(bins);
    for (let t = firstTick(startMs, tickMs); t < endMs; t += tickMs) this.#ticksPerBin[this.bin(t)]! += 1;
  }

  bin(t: number): number {
    const b = Math.floor((t - this.series.startMs) / this.series.binMs);
    return Math.min(Math.max(b, 0), this.series.arrivals.length - 1);
  }

  /** A request started service after waiting `waitMs`; `cold` if it waited for a starting instance. */
  recordServed(arrivedAt: number, waitMs: number, cold: boolean): void {
    this.served++;
    if (waitMs > 0) {
      this.waits.push(waitMs);
      this.waitSum += waitMs;
    }
    if (cold) {
      this.coldStarts++;
      this.series.coldStarts[this.bin(arrivedAt)]! += 1;
    }
  }

  /** A request was admitted with an adapter: `loaded` if that started a load; `waitMs` until it is loaded. */
  recordAdapterAdmit(loaded: boolean, waitMs: number): void {
    if (loaded) this.adapterLoads++;
    if (waitMs <= 0) return;
    this.adapterLoadRequests++;
    this.adapterLoadWaitMs += waitMs;
  }

  /** A controller tick's view of one deployment: `warm` ready instances of `instances`. */
  sample(t: number, warm: number, instances: number): void {
    const b = this.bin(t);
    const k = this.#ticksPerBin[b]!;
    if (k === 0) return;
    this.series.warm[b]! += warm / k;
    this.series.instances[b]! += instances / k;
  }

  adapterSummary(): AdapterSummary {
    return {
      adapter_loads: this.adapterLoads,
      adapter_load_requests: this.adapterLoadRequests,
      adapter_load_wait_s: r3(this.adapterLoadWaitMs / 1000),
      adapter_load_wait_ms_mean: this.served === 0 ? 0 : r3(this.adapterLoadWaitMs / this.served),
    };
  }

  summary(): RunSummary {
    const waits = this.waits.view().slice().sort();
    const zero = this.served - waits.length;
    const at = (p: number) => {
      if (this.served === 0) return 0;
      const rank = Math.max(1, Math.ceil((p / 100) * this.served));
      return rank <= zero ? 0 : waits[rank - zero - 1]!;
    };
    return {
      requests: this.requests,
      served: this.served,
      cold_starts: this.coldStarts,
      cold_start_pct: this.requests === 0 ? 0 : r3((100 * this.coldStarts) / this.requests),
      wait_ms_p50: r3(at(50)),
      wait_ms_p99: r3(at(99)),
      wait_ms_mean: this.served === 0 ? 0 : r3(this.waitSum / this.served),
      instance_seconds: r3(this.instanceMs / 1000),
      idle_instance_seconds: r3(this.idleMs / 1000),
      instances_started: this.instancesStarted,
      deployments: this.deployments,
    };
  }
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** The first controller tick at or after `startMs` (ticks fall on multiples of tickMs). */
export function firstTick(startMs: number, tickMs: number): number {
  return Math.ceil(startMs / tickMs) * tickMs;
}
