import type { Sequence } from '../sequence.ts';

/**
 * Sequences waiting for admission, most urgent first: priority class, then arrival. Preempted
 * sequences come back here with their original arrival, so they resume ahead of newer work.
 * Sorted insertion is O(n), which is fine at the queue sizes the engine bounds it to.
 */
export class WaitingQueue {
  #items: Sequence[] = [];

  get length(): number {
    return this.#items.length;
  }

  push(seq: Sequence): void {
    let i = this.#items.length;
    while (i > 0 && before(seq, this.#items[i - 1]!)) i--;
    this.#items.splice(i, 0, seq);
  }

  peek(): Sequence | undefined {
    return this.#items[0];
  }

  shift(): Sequence | undefined {
    return this.#items.shift();
  }

  /** Removes every sequence of a request (abort); returns what was removed. */
  removeRequest(requestId: string): Sequence[] {
    const gone = this.#items.filter((s) => s.requestId === requestId);
    if (gone.length) this.#items = this.#items.filter((s) => s.requestId !== requestId);
    return gone;
  }

  *[Symbol.iterator](): IterableIterator<Sequence> {
    yield* this.#items;
  }
}

/** Priority class first, then arrival, then sample index (siblings of one request arrive together). */
export function before(a: Sequence, b: Sequence): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.arrival !== b.arrival ? a.arrival < b.arrival : a.index < b.index;
}
