/** Keeps the last `max` characters written to a stream, so an exit can be explained. */
export class OutputTail {
  readonly #max: number;
  #text = '';

  constructor(max = 4096) {
    this.#max = max;
  }

  push(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-this.#max);
  }

  toString(): string {
    return this.#text;
  }
}
