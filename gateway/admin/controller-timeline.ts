/**
 * What the warm-pool controller saw and did for one deployment over time, as the status page plots it
 * and GET /admin/v1/timeline answers it: one sample per step (the last tick of each step), oldest first,
 * and the cold starts it made, by when each instance became ready.
 */
export interface ControllerTimeline {
  readonly deployment: string;
  /** Samples are at most one per this many ms (the last tick of each step wins). */
  readonly stepMs: number;
  readonly samples: readonly TimelineSample[];
  readonly coldStarts: readonly ColdStartMark[];
  /** Cold starts counted since the controller began leading, also those older than what is kept. */
  readonly coldStartsTotal: number;
}

export interface TimelineSample {
  readonly at: number;
  /**
   * Arrivals the controller's demand forecast expects in a minute (the predictive forecast's level for
   * the minute holding `at`); null before the deployment has a request history.
   */
  readonly forecastPerMin: number | null;
  /** Instances it decided on. */
  readonly desired: number;
  /** Instances ready (idle or serving) after it acted: those it kept warm. */
  readonly warm: number;
}

export interface ColdStartMark {
  /** When the instance became ready (epoch ms). */
  readonly at: number;
  readonly instance: string;
  /** Requested to ready. */
  readonly coldStartMs: number;
}
