/** A scaling decision as the admin API serves it (GET /admin/v1/decisions). */
export interface DecisionLike {
  readonly at: number;
  readonly desired: number;
  readonly actual: number;
  readonly reason: string;
}

/**
 * What makes a decision a change worth showing: its target, the instances it saw, or the kind of
 * reason. The numbers in a reason ("last arrival 1234 ms ago") move every tick, its words do not.
 */
export function decisionGist(d: DecisionLike): string {
  return `${d.desired}|${d.actual}|${d.reason.replace(/\d+(\.\d+)?/g, '#')}`;
}

/**
 * The last `n` changes among one deployment's decisions (oldest first), each with how many ticks
 * repeated it since: a controller decides every tick, and a page of identical ticks says nothing.
 */
export function lastChanges<D extends DecisionLike>(
  decisions: readonly D[],
  n: number,
): (D & { repeats: number })[] {
  const changes: (D & { repeats: number })[] = [];
  let gist: string | null = null;
  for (const d of decisions) {
    const g = decisionGist(d);
    if (g === gist) changes[changes.length - 1]!.repeats++;
    else changes.push({ ...d, repeats: 0 });
    gist = g;
  }
  return changes.slice(-n);
}
