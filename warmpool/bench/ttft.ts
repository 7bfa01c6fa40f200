/**
 * Client-side time to first token: a streaming /v1/completions request, timed from just before fetch
 * until the first SSE chunk that carries text.
 */
export interface StreamedCompletion {
  /** Resolves with ms to the first text chunk. */
  readonly firstToken: Promise<number>;
  /** Resolves when the stream ends (or is aborted). */
  readonly done: Promise<void>;
  abort(): void;
}

export function streamCompletion(
  url: string,
  body: { model: string; prompt: string; max_tokens: number },
): StreamedCompletion {
  const ac = new AbortController();
  const t0 = performance.now();
  let resolveFirst!: (ms: number) => void;
  let rejectFirst!: (e: unknown) => void;
  const firstToken = new Promise<number>((res, rej) => {
    resolveFirst = res;
    rejectFirst = rej;
  });
  const done = (async () => {
    let got = false;
    try {
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true, temperature: 0 }),
        signal: ac.signal,
      });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while (!got && (nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') continue;
          const text = (JSON.parse(data) as { choices?: { text?: string }[] }).choices?.[0]?.text;
          if (text) {
            got = true;
            resolveFirst(performance.now() - t0);
          }
        }
        if (got) buf = '';
      }
      if (!got) throw new Error('stream ended without a text chunk');
    } catch (e) {
      if (!got) rejectFirst(e);
    }
  })();
  firstToken.catch(() => {}); // awaited by the caller; unobserved when aborted first
  return { firstToken, done, abort: () => ac.abort() };
}
