import type { VersionFigures } from './canary-verdict.ts';
import type { VersionStats, VersionTotals } from './version-stats.ts';

interface Ended {
  at: number;
  error: boolean;
  ttftMs: number | null;
}

/** Samples kept per version: a bound on memory whatever the traffic (the window is read from them). */
const KEPT = 4096;

/**
 * Version figures counted at this gateway alone (one gateway, no Redis): exact, from a ring of the
 * recent requests per pool.
 */
export class MemoryVersionStats implements VersionStats {
  readonly shared = false;
  readonly #rings = new Map<string, { items: Ended[]; next: number }>();
  readonly #totals = new Map<string, VersionTotals>();

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

  /** Nothing to bring in: every figure is here. */
  refresh(): Promise<void> {
    return Promise.resolve();
  }

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

  totals(pool: string): VersionTotals {
    return { ...(this.#totals.get(pool) ?? { requests: 0, errors: 0 }) };
  }

  keepOnly(pools: ReadonlySet<string>): void {
    for (const pool of this.#rings.keys()) if (!pools.has(pool)) this.#rings.delete(pool);
    for (const pool of this.#totals.keys()) if (!pools.has(pool)) this.#totals.delete(pool);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
