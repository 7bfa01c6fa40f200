/**
 * Which adapter holds which slot: slots 1..slots-1 (slot 0 is the base model), each held by one adapter,
 * reference counted by the sequences running under it. A slot whose count is 0 stays loaded (a later
 * request reuses it for free) until it is the least recently used one and a new adapter needs room.
 * Plain data: the caller writes the weights when `acquire` says the slot needs them.
 */
export interface SlotGrant {
  readonly slot: number;
  /** The slot did not hold this adapter: write its weights before the next step reads the slot. */
  readonly load: boolean;
  /** The adapter that held the slot before (now evicted), if any. */
  readonly evicted?: string;
}

export class SlotTable {
  readonly #slots: number;
  readonly #slotOf = new Map<string, number>();
  readonly #holder: (string | undefined)[];
  readonly #refs: number[];
  /** Unreferenced loaded slots, least recently used first (a Map keeps insertion order). */
  readonly #idle = new Map<number, true>();
  readonly #free: number[] = [];

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 2)
      throw new RangeError(`SlotTable: slots must be an integer >= 2, got ${slots}`);
    this.#slots = slots;
    this.#holder = new Array<string | undefined>(slots).fill(undefined);
    this.#refs = new Array<number>(slots).fill(0);
    for (let s = slots - 1; s >= 1; s--) this.#free.push(s); // pop() hands out 1 first
  }

  /** The adapter's slot with one more reference; null when every slot is referenced (a shortfall, not an error). */
  acquire(id: string): SlotGrant | null {
    const held = this.#slotOf.get(id);
    if (held !== undefined) {
      this.#idle.delete(held);
      this.#refs[held]!++;
      return { slot: held, load: false };
    }
    let slot = this.#free.pop();
    let evicted: string | undefined;
    if (slot === undefined) {
      const lru = this.#idle.keys().next();
      if (lru.done) return null;
      slot = lru.value;
      this.#idle.delete(slot);
      evicted = this.#holder[slot];
      this.#slotOf.delete(evicted!);
    }
    this.#holder[slot] = id;
    this.#slotOf.set(id, slot);
    this.#refs[slot] = 1;
    return evicted === undefined ? { slot, load: true } : { slot, load: true, evicted };
  }

  /** One reference fewer; at 0 the slot becomes the most recently used idle one. */
  release(id: string): void {
    const slot = this.#slotOf.get(id);
    if (slot === undefined || this.#refs[slot]! === 0)
      throw new Error(`SlotTable.release: ${id} holds no reference`);
    if (--this.#refs[slot]! === 0) this.#idle.set(slot, true);
  }

  /** Forgets an unreferenced adapter (its slot becomes free); false if it is in use. */
  drop(id: string): boolean {
    const slot = this.#slotOf.get(id);
    if (slot === undefined) return true;
    if (this.#refs[slot]! > 0) return false;
    this.#idle.delete(slot);
    this.#slotOf.delete(id);
    this.#holder[slot] = undefined;
    this.#free.push(slot);
    return true;
  }

  slotOf(id: string): number | undefined {
    return this.#slotOf.get(id);
  }

  refs(id: string): number {
    const slot = this.#slotOf.get(id);
    return slot === undefined ? 0 : this.#refs[slot]!;
  }

  /** Loaded adapters, by slot (for stats and tests). */
  loaded(): string[] {
    return this.#holder.filter((h): h is string => h !== undefined);
  }

  get slots(): number {
    return this.#slots;
  }
}
