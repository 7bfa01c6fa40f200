/** The most recent `max` items, oldest first. */
export class Ring<T> {
  readonly #max: number;
  readonly #items: T[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.#max) this.#items.shift();
  }

  toArray(): T[] {
    return [...this.#items];
  }
}
