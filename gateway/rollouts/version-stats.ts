import type { VersionFigures } from './canary-verdict.ts';

interface Ended {
  at: number;
  error: boolean;
  ttftMs: number | null;
}

/** Samples kept per version: a bound on memory whatever the traffic (the window is read from them). */
const KEPT = 4096;

/**
 * Each version pool's recent requests (outcome, TTFT), for the canary analysis and the admin API.
 * Counted at this gateway replica; a ring per pool bounds memory.
 */
export class VersionStats {
  readonly #rings = new Map<string, { items: Ended[]; next: number }>();
  readonly #totals = new Map<string, { requests: number; errors: number }>();

  /** A request served by `pool` ended at `at`; `error`: it failed on the instance side. */
  note(pool: string, at: number, error: boolean, ttftMs: number | null): void {
    let ring = this.#rings.get(pool);
    if (!ring) this.#rings.set(pool, (ring = { items: [], next: 0 }));
    const item = { at, error, ttftMs };
    if (ring.items.length < KEPT) ring.items.push(item);
    else ring.items[ring.next] = item;
    ring.next = (ring.next + 1) % KEPT;
    let total = this.#totals.get(pool);
    if (!total) this.#totals.set(pool, (total = { requests: 0, errors: 0 }));
    total.requests++;
    if (error) total.errors++;
  }

  /** Requests that ended in (now - windowMs, now]. */
  figures(pool: string, now: number, windowMs: number): VersionFigures {
    const recent = (this.#rings.get(pool)?.items ?? []).filter((e) => e.at > now - windowMs && e.at <= now);
    const ttfts = recent.flatMap((e) => (e.ttftMs === null ? [] : [e.ttftMs])).sort((a, b) => a - b);
    return {
      requests: recent.length,
      errors: recent.filter((e) => e.error).length,
      ttftP90Ms:
        ttfts.length === 0 ? null : ttfts[Math.min(ttfts.length - 1, Math.ceil(ttfts.length * 0.9) - 1)]!,
    };
  }

  /** Every request and error counted since this replica started. */
  totals(pool: string): { requests: number; errors: number } {
    return { ...(this.#totals.get(pool) ?? { requests: 0, errors: 0 }) };
  }
}
