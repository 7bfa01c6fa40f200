/**
 * An approximate view of what each instance has in its prefix cache: for each prefix-block hash, the
 * instances a request with that prefix was recently sent to. Bounded (least recently used hashes go
 * first), so it forgets what the instances' own caches would have evicted long ago.
 */
export class PrefixIndex {
  readonly #holders = new Map<number, string[]>();
  #capacity: number;

  constructor(capacity = 200_000) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#holders.size;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** A new bound; the least recently used hashes past it go at the next record. */
  set capacity(n: number) {
    this.#capacity = n;
  }

  /** For each instance, how many leading blocks of `hashes` it is believed to hold. */
  match(hashes: readonly number[]): Map<string, number> {
    const matched = new Map<string, number>();
    let alive: string[] | null = null;
    for (let b = 0; b < hashes.length; b++) {
      const holders = this.#holders.get(hashes[b]!);
      if (!holders) break;
      alive = alive === null ? [...holders] : alive.filter((id) => holders.includes(id));
      if (alive.length === 0) break;
      for (const id of alive) matched.set(id, b + 1);
    }
    return matched;
  }

  /** The request went to `instanceId`: it now holds these blocks. */
  record(hashes: readonly number[], instanceId: string): void {
    for (const h of hashes) {
      const holders = this.#holders.get(h);
      if (holders) {
        this.#holders.delete(h); // re-inserted below: Map order is the LRU order
        if (!holders.includes(instanceId)) holders.push(instanceId);
        this.#holders.set(h, holders);
      } else {
        this.#holders.set(h, [instanceId]);
      }
    }
    while (this.#holders.size > this.#capacity) {
      this.#holders.delete(this.#holders.keys().next().value!);
    }
  }

  /** The instance is gone: nothing is cached there any more. */
  forget(instanceId: string): void {
    for (const [h, holders] of this.#holders) {
      const i = holders.indexOf(instanceId);
      if (i < 0) continue;
      holders.splice(i, 1);
      if (holders.length === 0) this.#holders.delete(h);
    }
  }
}
