import { decisionGist as gist } from '../../gateway/admin/decision-changes.ts';
import type { DecisionRow } from './format.ts';

/**
 * Picks, from successive reads of the controller's recent decisions (oldest first), those not seen in
 * an earlier read, and of these only the ones that change something for their deployment (`all`: every
 * one, one a tick). Pure: the CLI's `decisions` and `decisions --follow` feed it what the API answers.
 */
export class DecisionChanges {
  readonly #all: boolean;
  /** Per deployment: the latest `at` seen, and the decisions seen at that instant (ticks share one). */
  readonly #seen = new Map<string, { at: number; keys: Set<string> }>();
  /** Per deployment: the gist of the decision printed last. */
  readonly #shown = new Map<string, string>();

  constructor(o: { all?: boolean } = {}) {
    this.#all = o.all ?? false;
  }

  next(decisions: readonly DecisionRow[]): DecisionRow[] {
    const out: DecisionRow[] = [];
    for (const d of decisions) {
      if (!this.#fresh(d)) continue;
      const g = gist(d);
      if (!this.#all && this.#shown.get(d.deployment) === g) continue;
      this.#shown.set(d.deployment, g);
      out.push(d);
    }
    return out;
  }

  #fresh(d: DecisionRow): boolean {
    const key = JSON.stringify(d);
    const seen = this.#seen.get(d.deployment);
    if (seen && (d.at < seen.at || (d.at === seen.at && seen.keys.has(key)))) return false;
    if (!seen || d.at > seen.at) this.#seen.set(d.deployment, { at: d.at, keys: new Set([key]) });
    else seen.keys.add(key);
    return true;
  }
}
