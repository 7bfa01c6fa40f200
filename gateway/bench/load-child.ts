/** The load generator's process: `concurrency` loops, each one request at a time on its own connection. */
import { Pool } from 'undici';
import { serveOneJob } from './child.ts';
import type { LoadOptions, LoadSamples } from './load.ts';

async function run(o: LoadOptions): Promise<LoadSamples> {
  const pool = new Pool(o.url, { connections: o.concurrency, pipelining: 1 });
  const headers = { ...(o.body ? { 'content-type': 'application/json' } : {}), ...o.headers };
  const method = o.body ? 'POST' : 'GET';
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const windowStart = start + o.warmupMs;
  const end = windowStart + o.durationMs;

  async function loop(): Promise<void> {
    for (let t0 = performance.now(); t0 < end; t0 = performance.now()) {
      let ok: boolean;
      try {
        const res = await pool.request({ path: o.path, method, headers, body: o.body });
        const text = await res.body.text(); // every response is read to its end
        ok = res.statusCode >= 200 && res.statusCode < 300 && (!o.expect || text.includes(o.expect));
      } catch {
        ok = false;
      }
      const t1 = performance.now();
      // A request counts where it completes: throughput is completions per second of the window.
      if (t1 < windowStart || t1 > end) continue;
      if (ok) latencies.push(t1 - t0);
      else errors++;
    }
  }

  try {
    await Promise.all(Array.from({ length: o.concurrency }, loop));
  } finally {
    await pool.close();
  }
  return { latenciesMs: Float64Array.from(latencies), errors, durationMs: o.durationMs };
}

serveOneJob(run);
