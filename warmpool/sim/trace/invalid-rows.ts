import { TraceError } from './trace-error.ts';
import type { SkippedRows } from './types.ts';

/** How many skipped rows the report names. */
const EXAMPLES = 5;

/**
 * Where a reader sends a malformed row. By default the first one fails the run (TraceError naming
 * file:line); with `skip`, rows are counted and the first few kept as examples, and the reader goes on.
 */
export class InvalidRows {
  readonly #trace: string;
  readonly #skip: boolean;
  #rows = 0;
  readonly #examples: { line: number; reason: string }[] = [];

  /** `trace`: the file the line numbers refer to; a row of another file (Azure durations) names its file. */
  constructor(trace: string, skip: boolean) {
    this.#trace = trace;
    this.#skip = skip;
  }

  /** Throws for line `n` of `file`, or (skipping) records it; the caller then leaves the row out. */
  reject(file: string, n: number, reason: string): void {
    if (!this.#skip) throw new TraceError(file, n, reason);
    this.#rows++;
    if (this.#examples.length < EXAMPLES)
      this.#examples.push({ line: n, reason: file === this.#trace ? reason : `${file}: ${reason}` });
  }

  summary(): SkippedRows {
    return { rows: this.#rows, examples: [...this.#examples] };
  }
}
