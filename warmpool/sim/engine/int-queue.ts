/** A FIFO of integers in a growable ring (the indices of the requests waiting for capacity). */
export class IntQueue {
  #ring = new Int32Array(64);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(v: number): void {
    if (this.#size === this.#ring.length) {
      const next = new Int32Array(this.#ring.length * 2);
      for (let i = 0; i < this.#size; i++) next[i] = this.#ring[(this.#head + i) % this.#ring.length]!;
      this.#ring = next;
      this.#head = 0;
    }
    this.#ring[(this.#head + this.#size++) % this.#ring.length] = v;
  }

  /** Removes and returns the oldest value (call only when not empty). */
  shift(): number {
    const v = this.#ring[this.#head]!;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#size--;
    return v;
  }
}
