/** The replay's client process: sends each request on schedule and times its stream. */
import { Pool } from 'undici';
import { serveOneJob } from './child.ts';
import { FirstTextDetector } from './first-text.ts';
import type { ReplayInput, ReplayOutcome, ReplayRequest, ReplayResult, ReplayTarget } from './replay.ts';

function requestFor(
  target: ReplayTarget,
  r: ReplayRequest,
  i: number,
): { origin: string; path: string; body: string; headers?: Record<string, string> } {
  if (target.kind === 'gateway') {
    return {
      origin: target.url,
      path: '/v1/completions',
      ...(r.session !== undefined && { headers: { 'x-warmgate-session': r.session } }),
      body: JSON.stringify({
        model: target.model,
        prompt: r.prompt,
        max_tokens: r.maxTokens,
        temperature: 0, // greedy: both routings generate the same tokens
        stream: true,
      }),
    };
  }
  return {
    origin: target.urls[i % target.urls.length]!,
    path: '/generate',
    body: JSON.stringify({ prompt: r.prompt, params: { maxTokens: r.maxTokens, temperature: 0 } }),
  };
}

async function run(input: ReplayInput): Promise<ReplayResult> {
  const pools = new Map<string, Pool>();
  const pool = (origin: string) => {
    let p = pools.get(origin);
    if (!p) pools.set(origin, (p = new Pool(origin, { connections: null, pipelining: 1 })));
    return p;
  };
  let maxSendLagMs = 0;
  const start = performance.now();

  async function one(r: ReplayRequest, i: number): Promise<ReplayOutcome> {
    const { origin, path, body, headers } = requestFor(input.target, r, i);
    const sent = performance.now();
    maxSendLagMs = Math.max(maxSendLagMs, sent - start - r.atMs);
    try {
      const res = await pool(origin).request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        return {
          status: res.statusCode,
          ttftMs: null,
          totalMs: performance.now() - sent,
          error: text.slice(0, 300),
        };
      }
      const detector = new FirstTextDetector();
      let ttftMs: number | null = null;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (ttftMs === null && detector.push(chunk)) ttftMs = performance.now() - sent;
      }
      return { status: 200, ttftMs, totalMs: performance.now() - sent };
    } catch (err) {
      return { status: 0, ttftMs: null, totalMs: performance.now() - sent, error: String(err) };
    }
  }

  try {
    const outcomes = await Promise.all(
      input.requests.map(
        (r, i) =>
          new Promise<ReplayOutcome>((resolve) => {
            setTimeout(() => void one(r, i).then(resolve), Math.max(0, start + r.atMs - performance.now()));
          }),
      ),
    );
    return { outcomes, wallMs: performance.now() - start, maxSendLagMs };
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }
}

serveOneJob(run);
