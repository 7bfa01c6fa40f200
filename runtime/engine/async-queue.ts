/**
 * A single-consumer stream: the engine pushes, one reader iterates. Unbounded on purpose: the engine
 * produces at most one event per sequence per step, so the backlog is bounded by the consumer's lag in
 * steps; `onReturn` lets the engine abort the request when its reader stops early (client left).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | null = null;
  #closed = false;
  readonly #onReturn: () => void;

  constructor(onReturn: () => void = () => {}) {
    this.#onReturn = onReturn;
  }

  push(item: T): void {
    if (this.#closed) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  close(): void {
    this.#closed = true;
    const w = this.#waiter;
    if (w && this.#items.length === 0) {
      this.#waiter = null;
      w({ value: undefined, done: true });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.#items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#waiter = resolve;
        });
      },
      return: () => {
        if (!this.#closed) this.#onReturn();
        this.#closed = true;
        this.#items = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
