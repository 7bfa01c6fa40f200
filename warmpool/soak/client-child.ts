/** The soak's client process: sends each request on schedule (open loop) and reads its stream. */
import { Pool } from 'undici';
import type { Outcome } from './outcome.ts';
import type { ClientJob, ClientResult } from './client.ts';
import { SseScan } from './sse-scan.ts';

async function run(job: ClientJob): Promise<ClientResult> {
  const pool = new Pool(job.url, { connections: null, pipelining: 1 });
  let maxSendLagMs = 0;
  const start = performance.now();

  async function one(body: string, atMs: number): Promise<Outcome> {
    const sent = performance.now();
    maxSendLagMs = Math.max(maxSendLagMs, sent - start - atMs);
    const base = { ttftMs: null, done: false, completionTokens: 0 };
    try {
      const res = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        return {
          ...base,
          status: res.statusCode,
          totalMs: performance.now() - sent,
          error: text.slice(0, 300),
        };
      }
      const scan = new SseScan();
      let ttftMs: number | null = null;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (scan.push(chunk)) ttftMs = performance.now() - sent;
      }
      scan.end();
      return {
        status: 200,
        ttftMs,
        totalMs: performance.now() - sent,
        done: scan.done,
        completionTokens: scan.completionTokens,
        ...(scan.error !== null && { error: scan.error }),
      };
    } catch (err) {
      return { ...base, status: 0, totalMs: performance.now() - sent, error: String(err) };
    }
  }

  try {
    const outcomes = await Promise.all(
      job.requests.map(
        (r) =>
          new Promise<Outcome>((resolve) => {
            const wait = Math.max(0, start + r.atMs - performance.now());
            setTimeout(() => void one(r.body, r.atMs).then(resolve), wait);
          }),
      ),
    );
    return { outcomes, wallMs: performance.now() - start, maxSendLagMs };
  } finally {
    await pool.close();
  }
}

process.once('message', (job) => {
  run(job as ClientJob).then(
    (out) => process.send!(out, undefined, {}, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
