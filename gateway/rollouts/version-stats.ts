import type { VersionFigures } from './canary-verdict.ts';

export interface VersionTotals {
  requests: number;
  errors: number;
}

/**
 * Each version pool's requests (outcome, TTFT), for the canary analysis and the admin API. `note` is
 * called on the request path and never waits or throws; `figures` and `totals` answer synchronously from
 * what the last `refresh` brought in (shared implementations) plus what this replica counted since.
 */
export interface VersionStats {
  /** Whether the figures are every gateway replica's (true) or this replica's alone. */
  readonly shared: boolean;
  /** A request served by `pool` ended at `at`; `error`: it failed on the instance side. */
  note(pool: string, at: number, error: boolean, ttftMs: number | null): void;
  /** Brings in the other replicas' counts for these pools' windows; never rejects (see `shared`). */
  refresh(pools: readonly string[], now: number, windowMs: number): Promise<void>;
  /** Requests that ended in (now - windowMs, now]. */
  figures(pool: string, now: number, windowMs: number): VersionFigures;
  /** Every request and error counted (since this replica started, or as long as Redis keeps them). */
  totals(pool: string): VersionTotals;
  /** Frees what is held for every other pool (versions removed), so memory does not grow with them. */
  keepOnly(pools: ReadonlySet<string>): void;
  close(): Promise<void>;
}
