/** One line an instance process wrote. `seq` counts the process's lines from 1, so a reader can resume. */
export interface LogLine {
  readonly seq: number;
  /** When the provider read it (ms since the epoch). */
  readonly at: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export interface InstanceLogOptions {
  /** Lines kept; older ones are dropped. Default 500. */
  readonly maxLines?: number;
  /** Longer lines are cut to this many characters (a runaway line must not hold megabytes). Default 2000. */
  readonly maxLineChars?: number;
  readonly now?: () => number;
}

/**
 * The recent lines of an instance's stdout and stderr, bounded in lines and in line length: what
 * `warmgate logs` shows. Chunks are split into lines per stream; a partial line waits for its end (or
 * for end(), when the process has closed its output).
 */
export class InstanceLog {
  readonly #maxLines: number;
  readonly #maxChars: number;
  readonly #now: () => number;
  /** A ring: #start is the oldest line once it is full. */
  readonly #lines: LogLine[] = [];
  #start = 0;
  #seq = 0;
  readonly #partial = { stdout: '', stderr: '' };

  constructor(o: InstanceLogOptions = {}) {
    this.#maxLines = Math.max(1, o.maxLines ?? 500);
    this.#maxChars = Math.max(1, o.maxLineChars ?? 2000);
    this.#now = o.now ?? Date.now;
  }

  push(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    const parts = (this.#partial[stream] + chunk.toString()).split('\n');
    // The last part has no newline yet; cut it too, so a line that never ends stays bounded.
    this.#partial[stream] = parts.pop()!.slice(0, this.#maxChars + 1);
    for (const p of parts) this.#add(stream, p);
  }

  /** Keeps the partial lines: the process closed its output. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream] !== '') this.#add(stream, this.#partial[stream]);
      this.#partial[stream] = '';
    }
  }

  /** The last `n` lines kept (all by default), oldest first. */
  lines(n = Infinity): LogLine[] {
    const all = [...this.#lines.slice(this.#start), ...this.#lines.slice(0, this.#start)];
    return n >= all.length ? all : all.slice(all.length - Math.max(0, Math.floor(n)));
  }

  #add(stream: 'stdout' | 'stderr', raw: string): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const line: LogLine = {
      seq: ++this.#seq,
      at: this.#now(),
      stream,
      text: text.length > this.#maxChars ? `${text.slice(0, this.#maxChars)}…` : text,
    };
    if (this.#lines.length < this.#maxLines) {
      this.#lines.push(line);
    } else {
      this.#lines[this.#start] = line;
      this.#start = (this.#start + 1) % this.#maxLines;
    }
  }
}
