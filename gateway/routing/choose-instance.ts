export type RoutingPolicy = 'prefix' | 'least-load' | 'round-robin';

/** What routing knows of one ready instance. */
export interface RouteCandidate {
  readonly id: string;
  /** Requests the gateway has in flight to it (exact, updated on every send and end). */
  readonly outstanding: number;
  /** From its last load report. */
  readonly waiting: number;
  readonly kvUsagePct: number;
}

export interface RoutingOptions {
  readonly policy: RoutingPolicy;
  /** Affinity may pick an instance this much busier (in load score) than the least loaded one. */
  readonly affinitySlack: number;
  /** Above this KV use an instance gets no affinity traffic: the prefix would be evicted anyway. */
  readonly affinityMaxKvPct: number;
  /**
   * Affinity needs to save at least this many blocks over the least loaded instance. A prefix every
   * instance soon holds (a shared system prompt) must not pull all traffic to the first that saw it.
   */
  readonly minAffinityBlocks: number;
}

export const DEFAULT_ROUTING: RoutingOptions = {
  policy: 'prefix',
  affinitySlack: 2,
  affinityMaxKvPct: 95,
  minAffinityBlocks: 2,
};

export interface RouteDecision {
  readonly id: string;
  readonly reason: 'affinity' | 'least-load' | 'round-robin' | 'adapter' | 'session';
  readonly matchedBlocks: number;
}

/** Outstanding requests dominate; queued work at the engine counts too; a nearly full KV cache adds. */
export function loadScore(c: RouteCandidate): number {
  return c.outstanding + c.waiting + (c.kvUsagePct > 90 ? 2 : 0);
}

/**
 * Picks the instance for one request. Prefix policy: the instance believed to hold the longest prefix
 * of the prompt, when that saves enough blocks over the least loaded instance and would not overload it
 * (its score exceeds the least loaded one's by more than the slack); else the least loaded. `turn` drives round-robin. Pure: no clock, no I/O.
 */
export function chooseInstance(
  candidates: readonly RouteCandidate[],
  matches: ReadonlyMap<string, number>,
  options: RoutingOptions,
  turn: number,
): RouteDecision | null {
  if (candidates.length === 0) return null;
  if (options.policy === 'round-robin') {
    const c = candidates[turn % candidates.length]!;
    return { id: c.id, reason: 'round-robin', matchedBlocks: matches.get(c.id) ?? 0 };
  }
  // Ties among the least loaded rotate with `turn`, so idle instances share new prefixes evenly.
  let least = candidates[turn % candidates.length]!;
  for (let k = 1; k < candidates.length; k++) {
    const c = candidates[(turn + k) % candidates.length]!;
    if (loadScore(c) < loadScore(least)) least = c;
  }
  if (options.policy === 'prefix') {
    let best: RouteCandidate | null = null;
    let bestBlocks = 0;
    for (const c of candidates) {
      const blocks = matches.get(c.id) ?? 0;
      if (blocks > bestBlocks || (blocks === bestBlocks && best && loadScore(c) < loadScore(best))) {
        if (blocks === 0) continue;
        best = c;
        bestBlocks = blocks;
      }
    }
    if (
      best &&
      bestBlocks - (matches.get(least.id) ?? 0) >= options.minAffinityBlocks &&
      best.kvUsagePct <= options.affinityMaxKvPct &&
      loadScore(best) <= loadScore(least) + options.affinitySlack
    ) {
      return { id: best.id, reason: 'affinity', matchedBlocks: bestBlocks };
    }
  }
  return { id: least.id, reason: 'least-load', matchedBlocks: matches.get(least.id) ?? 0 };
}

/**
 * Picks the instance for a request under an adapter: as chooseInstance, but among the instances that
 * hold the adapter (`holders`) when one of them is within the affinity slack of the least loaded
 * instance; else the usual choice, which then loads the adapter (milliseconds, against a queue behind a
 * busy holder). Pure.
 */
export function chooseInstanceForAdapter(
  candidates: readonly RouteCandidate[],
  holders: ReadonlySet<string>,
  matches: ReadonlyMap<string, number>,
  options: RoutingOptions,
  turn: number,
): RouteDecision | null {
  const usual = chooseInstance(candidates, matches, options, turn);
  if (usual === null || holders.has(usual.id)) return usual;
  const held = candidates.filter((c) => holders.has(c.id));
  if (held.length === 0) return usual;
  const best = chooseInstance(held, matches, { ...options, policy: 'least-load' }, turn)!;
  const least = Math.min(...candidates.map(loadScore));
  const bestScore = loadScore(held.find((c) => c.id === best.id)!);
  return bestScore <= least + options.affinitySlack ? { ...best, reason: 'adapter' } : usual;
}
