/** A Float64Array that doubles as it fills: a column of numbers without an object per row. */
export class Growable {
  #data = new Float64Array(16);
  length = 0;

  push(v: number): void {
    if (this.length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = v;
  }

  /** The values pushed (a view, no copy). */
  view(): Float64Array {
    return this.#data.subarray(0, this.length);
  }
}
