import type { HistoryReader } from '../policies/index.ts';
import type { Measured } from './policy-target.ts';

const WINDOW_MS = 5 * 60_000;
const KEPT_COLD_STARTS = 5;

/**
 * What the controller measures per deployment for its policy: cold starts as its pools saw them, and the
 * mean time in flight from concurrency samples over the arrival rate (Little's law, last 5 minutes).
 */
export class MeasuredDeployment {
  readonly #coldStarts: number[] = [];
  readonly #seen = new Set<string>();
  /** (at, inFlight) samples, one per tick, oldest first. */
  readonly #samples: [number, number][] = [];

  constructor(readonly defaults: { coldStartMs: number; serviceMs: number }) {}

  /** An instance's measured cold start (counted once per instance id). */
  coldStart(instanceId: string, ms: number): void {
    if (this.#seen.has(instanceId)) return;
    this.#seen.add(instanceId);
    this.#coldStarts.push(ms);
    if (this.#coldStarts.length > KEPT_COLD_STARTS) this.#coldStarts.shift();
  }

  inFlight(at: number, n: number): void {
    this.#samples.push([at, n]);
    while (this.#samples.length > 0 && this.#samples[0]![0] < at - WINDOW_MS) this.#samples.shift();
  }

  /** `capacityPerInstance`: the deployment's declared one, or its instances' concurrency limit. */
  now(history: HistoryReader | undefined, at: number, capacityPerInstance: number): Measured {
    const cold = [...this.#coldStarts].sort((a, b) => a - b);
    const coldStartMs = cold.length ? cold[cold.length >> 1]! : this.defaults.coldStartMs;
    let serviceMs = this.defaults.serviceMs;
    const span = this.#samples.length ? at - this.#samples[0]![0] : 0;
    const arrivals = history && span > 0 ? history.arrivals(at - span, at) : 0;
    if (arrivals > 0) {
      const meanInFlight = this.#samples.reduce((a, [, n]) => a + n, 0) / this.#samples.length;
      serviceMs = Math.min(600_000, Math.max(1, (meanInFlight * span) / arrivals));
    }
    return { coldStartMs, serviceMs, capacityPerInstance };
  }
}
