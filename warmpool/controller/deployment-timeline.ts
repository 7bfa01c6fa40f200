import type {
  ColdStartMark,
  ControllerTimeline,
  TimelineSample,
} from '../../gateway/admin/controller-timeline.ts';
import type { PoolInstanceStatus } from '../pool/index.ts';
import { Ring } from './decision-ring.ts';

/** One sample per 10 s: an hour of them is 360 per deployment, whatever the tick. */
export const TIMELINE_STEP_MS = 10_000;
const SAMPLES_KEPT = 360;
const COLD_STARTS_KEPT = 100;

const isWarm = (i: PoolInstanceStatus) => i.state === 'ready-idle' || i.state === 'serving';

/**
 * A deployment's recent ticks as the status page plots them (forecast, desired, warm), one sample per
 * step, and its cold starts: each instance once, when the pool first reports it ready with its cold
 * start time. Fixed memory per deployment.
 */
export class DeploymentTimeline {
  readonly #samples = new Ring<TimelineSample>(SAMPLES_KEPT);
  /** The current step's latest sample, pushed once a tick falls in a later step. */
  #open: TimelineSample | undefined;
  readonly #coldStarts = new Ring<ColdStartMark>(COLD_STARTS_KEPT);
  /** Instances whose cold start is counted, among those the pool still has. */
  readonly #counted = new Set<string>();
  #coldStartsTotal = 0;

  constructor(readonly deployment: string) {}

  /** One tick: what was decided and the pool after acting on it. */
  note(
    at: number,
    decided: { desired: number; forecastPerMin?: number },
    pool: readonly PoolInstanceStatus[],
  ): void {
    const sample: TimelineSample = {
      at,
      forecastPerMin: decided.forecastPerMin ?? null,
      desired: decided.desired,
      warm: pool.filter(isWarm).length,
    };
    if (this.#open && Math.floor(this.#open.at / TIMELINE_STEP_MS) !== Math.floor(at / TIMELINE_STEP_MS))
      this.#samples.push(this.#open);
    this.#open = sample;
    // An adopted instance has no cold start here (it was never requested by this pool): not counted.
    for (const i of pool) {
      if (this.#counted.has(i.id) || i.readyAt === undefined || i.coldStartMs === undefined) continue;
      this.#counted.add(i.id);
      this.#coldStarts.push({ at: i.readyAt, instance: i.id, coldStartMs: i.coldStartMs });
      this.#coldStartsTotal++;
    }
    // Ids of instances the pool no longer has are let go of: the set stays the pool's size.
    if (this.#counted.size > pool.length) {
      const present = new Set(pool.map((i) => i.id));
      for (const id of this.#counted) if (!present.has(id)) this.#counted.delete(id);
    }
  }

  get coldStartsTotal(): number {
    return this.#coldStartsTotal;
  }

  /** The latest forecast, null before there is one. */
  get forecastPerMin(): number | null {
    return this.#open?.forecastPerMin ?? null;
  }

  view(sinceMs: number): ControllerTimeline {
    const samples = this.#samples.toArray();
    if (this.#open) samples.push(this.#open);
    return {
      deployment: this.deployment,
      stepMs: TIMELINE_STEP_MS,
      samples: samples.filter((s) => s.at >= sinceMs),
      coldStarts: this.#coldStarts.toArray().filter((c) => c.at >= sinceMs),
      coldStartsTotal: this.#coldStartsTotal,
    };
  }
}
