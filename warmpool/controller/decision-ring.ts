/**
 * The most recent `capacity` items, oldest first. A fixed array used as a ring: when full, a push
 * overwrites the oldest item, so pushing is O(1) however many are kept.
 */
export class Ring<T> {
  readonly #slots: (T | undefined)[];
  /** Where the oldest item is. */
  #start = 0;
  #size = 0;

  /** A capacity below 1 keeps nothing; a fractional one rounds down. */
  constructor(capacity: number) {
    this.#slots = new Array<T | undefined>(Math.max(0, Math.floor(capacity)) || 0).fill(undefined);
  }

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    const capacity = this.#slots.length;
    if (capacity === 0) return;
    if (this.#size < capacity) {
      this.#slots[(this.#start + this.#size) % capacity] = item;
      this.#size++;
    } else {
      this.#slots[this.#start] = item;
      this.#start = (this.#start + 1) % capacity;
    }
  }

  /** A copy, oldest first. */
  toArray(): T[] {
    const out = new Array<T>(this.#size);
    for (let i = 0; i < this.#size; i++) out[i] = this.#slots[(this.#start + i) % this.#slots.length] as T;
    return out;
  }
}
