/**
 * Reads an OpenAI chat stream (SSE) as it arrives: whether a chunk with content came, the [DONE] line,
 * an error event, and the completion tokens of the usage chunk. Lines may be split across chunks.
 */
export class SseScan {
  #rest = '';
  readonly #decoder = new TextDecoder();
  /** Became true at the push that delivered the first non-empty `delta.content` (or `text`). */
  content = false;
  done = false;
  error: string | null = null;
  completionTokens = 0;

  /** Returns true when this chunk brought the first content. */
  push(chunk: Uint8Array): boolean {
    const had = this.content;
    const lines = (this.#rest + this.#decoder.decode(chunk, { stream: true })).split('\n');
    this.#rest = lines.pop()!;
    for (const line of lines) this.#line(line.trim());
    return !had && this.content;
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    this.#line((this.#rest + this.#decoder.decode()).trim());
    this.#rest = '';
  }

  #line(line: string): void {
    if (!line.startsWith('data:')) return; // blank lines, comments, event names
    const payload = line.slice(5).trim();
    if (payload === '[DONE]') {
      this.done = true;
      return;
    }
    let ev: {
      error?: { message?: unknown };
      choices?: { text?: unknown; delta?: { content?: unknown } }[];
      usage?: { completion_tokens?: unknown };
    };
    try {
      ev = JSON.parse(payload) as typeof ev;
    } catch {
      this.error ??= `unparsable event: ${payload.slice(0, 120)}`;
      return;
    }
    if (ev.error !== undefined) {
      this.error ??= typeof ev.error?.message === 'string' ? ev.error.message : JSON.stringify(ev.error);
      return;
    }
    const text = (x: unknown) => typeof x === 'string' && x.length > 0;
    if (ev.choices?.some((c) => text(c?.delta?.content) || text(c?.text))) this.content = true;
    if (typeof ev.usage?.completion_tokens === 'number') this.completionTokens = ev.usage.completion_tokens;
  }
}
