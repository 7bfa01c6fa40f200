/**
 * Whether one line of a streamed response carries generated text: an SSE `data:` line of an OpenAI
 * stream (completions `choices[].text`, chat `choices[].delta.content`) or an NDJSON token event of the
 * instance API. Time to the first such line is the client's time to first token.
 */
export function lineHasText(line: string): boolean {
  let payload = line.trim();
  if (payload.startsWith('data:')) payload = payload.slice(5).trim();
  if (!payload.startsWith('{')) return false; // '[DONE]', comments, event names, blank lines
  let event: {
    type?: string;
    text?: unknown;
    choices?: { text?: unknown; delta?: { content?: unknown } }[];
  };
  try {
    event = JSON.parse(payload) as typeof event;
  } catch {
    return false;
  }
  if (Array.isArray(event.choices)) {
    return event.choices.some((c) => nonEmpty(c?.text) || nonEmpty(c?.delta?.content));
  }
  return event.type === 'token' && nonEmpty(event.text);
}

const nonEmpty = (x: unknown): boolean => typeof x === 'string' && x.length > 0;

/** Splits a byte stream into lines across chunk boundaries; `push` returns true once a line had text. */
export class FirstTextDetector {
  #rest = '';
  #seen = false;
  readonly #decoder = new TextDecoder();

  push(chunk: Uint8Array): boolean {
    if (this.#seen) return true;
    const lines = (this.#rest + this.#decoder.decode(chunk, { stream: true })).split('\n');
    this.#rest = lines.pop()!;
    this.#seen = lines.some(lineHasText);
    return this.#seen;
  }
}
