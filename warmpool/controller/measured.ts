import type { FirstTokenSummary } from '../../gateway/demand-board/index.ts';
import type { HistoryReader } from '../policies/index.ts';
import { CapacityAtSlo } from './capacity-at-slo.ts';
import type { Measured } from './policy-target.ts';

const WINDOW_MS = 5 * 60_000;
const KEPT_COLD_STARTS = 5;

/**
 * What the controller measures per deployment for its policy: cold starts as its pools saw them, the
 * mean time in flight from concurrency samples over the arrival rate (Little's law, last 5 minutes), and
 * the concurrency an instance serves within the TTFT SLO (capacity-at-slo.ts).
 */
export class MeasuredDeployment {
  readonly #coldStarts: number[] = [];
  readonly #seen = new Set<string>();
  /** (at, inFlight) samples, one per tick, oldest first. */
  readonly #samples: [number, number][] = [];
  readonly #capacity = new CapacityAtSlo();

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

  /** A tick's view of the instances: requests in flight per ready one, and the recent first tokens. */
  firstTokens(at: number, perInstance: number, firstToken: FirstTokenSummary, sloMs: number): void {
    this.#capacity.observe(at, perInstance, firstToken, sloMs);
  }

  /**
   * `capacity`: the deployment's declared capacity per instance (taken as is), or its instances'
   * concurrency limit, the ceiling of what is measured at the SLO.
   */
  now(
    history: HistoryReader | undefined,
    at: number,
    capacity: { declared?: number; ceiling: number },
  ): Measured {
    const capacityPerInstance = capacity.declared ?? this.#capacity.estimate(at, capacity.ceiling);
    const boundBySlo = capacity.declared === undefined && capacityPerInstance < capacity.ceiling;
    const cold = [...this.#coldStarts].sort((a, b) => a - b);
    const coldStartMs = cold.length ? cold[cold.length >> 1]! : this.defaults.coldStartMs;
    let serviceMs = this.defaults.serviceMs;
    const span = this.#samples.length ? at - this.#samples[0]![0] : 0;
    const arrivals = history && span > 0 ? history.arrivals(at - span, at) : 0;
    if (arrivals > 0) {
      const meanInFlight = this.#samples.reduce((a, [, n]) => a + n, 0) / this.#samples.length;
      serviceMs = Math.min(600_000, Math.max(1, (meanInFlight * span) / arrivals));
    }
    return { coldStartMs, serviceMs, capacityPerInstance, ...(boundBySlo && { boundBySlo }) };
  }
}
