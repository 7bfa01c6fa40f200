import {
  loadScore,
  type RouteCandidate,
  type RouteDecision,
  type RoutingOptions,
} from './choose-instance.ts';

/**
 * Picks the instance for a turn of a conversation (a `session`): the instance that served its previous
 * turn (`pinned`), which holds the conversation's KV blocks, while it is ready, its KV cache is under the
 * affinity limit and its load is within the affinity slack of the least loaded instance; else
 * `fallback` (prefix affinity, or an adapter's choice), and the session moves with it.
 *
 * What this adds over prefix affinity: the pin is exact and needs no prompt match. The prefix index
 * hashes only a prompt's first blocks, so conversations that share a long system prompt look alike to
 * it and their turns scatter; it may have forgotten an old conversation; and it asks for a saving of
 * minAffinityBlocks over the least loaded instance, which a short conversation never reaches. Pure.
 */
export function chooseInstanceForSession(
  candidates: readonly RouteCandidate[],
  pinned: string | null,
  matches: ReadonlyMap<string, number>,
  options: RoutingOptions,
  fallback: () => RouteDecision | null,
): RouteDecision | null {
  const held =
    pinned === null || options.policy === 'round-robin' ? undefined : candidates.find((c) => c.id === pinned);
  if (held && held.kvUsagePct <= options.affinityMaxKvPct) {
    const least = Math.min(...candidates.map(loadScore));
    if (loadScore(held) <= least + options.affinitySlack)
      return { id: held.id, reason: 'session', matchedBlocks: matches.get(held.id) ?? 0 };
  }
  return fallback();
}
