export interface StopPush {
  /** Text that can be sent to the client now. */
  readonly emit: string;
  /** A stop string completed: `emit` ends just before it, and generation should end. */
  readonly stopped: boolean;
}

/**
 * Finds stop strings in streamed text. It holds back the longest tail that could still grow into a
 * stop string, so text the client already has never turns out to contain one.
 */
export class StopMatcher {
  readonly #stops: readonly string[];
  readonly #longest: number;
  #held = '';
  #stopped = false;

  constructor(stops: readonly string[]) {
    // An empty stop string would match before any text; validation rejects it, and here it is ignored.
    this.#stops = stops.filter((s) => s.length > 0);
    this.#longest = this.#stops.reduce((max, s) => Math.max(max, s.length), 0);
  }

  /** After a stop, every later push returns `{ emit: '', stopped: true }`. */
  push(piece: string): StopPush {
    if (this.#stopped) return { emit: '', stopped: true };
    if (this.#longest === 0) return { emit: piece, stopped: false };
    const text = this.#held + piece;
    const at = this.#firstMatch(text);
    if (at >= 0) {
      this.#stopped = true;
      this.#held = '';
      return { emit: text.slice(0, at), stopped: true };
    }
    const keep = this.#partialTail(text);
    this.#held = text.slice(text.length - keep);
    return { emit: text.slice(0, text.length - keep), stopped: false };
  }

  /** End of generation without a stop: the held-back tail was ordinary text after all. */
  flush(): string {
    const rest = this.#held;
    this.#held = '';
    return rest;
  }

  /** Earliest index where any stop string occurs; with several, the one that starts first wins. */
  #firstMatch(text: string): number {
    let first = -1;
    for (const stop of this.#stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    return first;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  #partialTail(text: string): number {
    for (let len = Math.min(text.length, this.#longest - 1); len > 0; len--) {
      const tail = text.slice(text.length - len);
      if (this.#stops.some((stop) => stop.startsWith(tail))) return len;
    }
    return 0;
  }
}
