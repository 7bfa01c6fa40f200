import type { FeedTarget } from './types.ts';

/** A history to keep: its name and the request-history series it sums. */
export interface Sourced {
  readonly name: string;
  readonly sources: readonly string[];
}

/** Each history once, by name (the first given), with its sources spelled out. */
export function uniqueTargets(targets: Iterable<FeedTarget>): Sourced[] {
  const byName = new Map<string, Sourced>();
  for (const t of targets) {
    const f = typeof t === 'string' ? { name: t, sources: [t] } : t;
    if (!byName.has(f.name)) byName.set(f.name, f);
  }
  return [...byName.values()];
}
