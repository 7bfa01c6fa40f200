/**
 * A single-consumer stream: the engine pushes, one reader iterates. The engine produces at most one event
 * per sequence per step, so the backlog is the consumer's lag in steps; a reader that stops reading (its
 * client stalled, and backpressure reached here) would let it grow to the whole generation, so past
 * `maxBuffered` items `onOverflow` is called once (the engine cancels the request, freeing its blocks;
 * the few events that end it are still queued). `onReturn` lets the engine abort the request when its
 * reader stops early (client left); `onBacklog` hears the backlog each time an item waits in it.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | null = null;
  #closed = false;
  #overflowed = false;
  readonly #onReturn: () => void;
  readonly #maxBuffered: number;
  readonly #onOverflow: () => void;
  readonly #onBacklog: (buffered: number) => void;

  constructor(
    onReturn: () => void = () => {},
    maxBuffered = Infinity,
    onOverflow: () => void = onReturn,
    onBacklog: (buffered: number) => void = () => {},
  ) {
    this.#onReturn = onReturn;
    this.#maxBuffered = maxBuffered;
    this.#onOverflow = onOverflow;
    this.#onBacklog = onBacklog;
  }

  /** Items pushed and not yet read. */
  get buffered(): number {
    return this.#items.length;
  }

  /** Whether the backlog went past its bound (the request was cancelled for it). */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  push(item: T): void {
    if (this.#closed) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w({ value: item, done: false });
    } else {
      this.#items.push(item);
      this.#onBacklog(this.#items.length);
      if (this.#items.length > this.#maxBuffered && !this.#overflowed) {
        this.#overflowed = true;
        this.#onOverflow();
      }
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
