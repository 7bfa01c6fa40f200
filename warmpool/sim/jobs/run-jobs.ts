import { Worker } from 'node:worker_threads';
import { readTrace, type Trace } from '../trace/index.ts';
import { runJob } from './run-job.ts';
import type { JobResult, SimJob, SimSetup } from './types.ts';

// Built (dist/*.js) or run from source under tsx (*.ts): the worker is the sibling file of the same kind.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER = new URL(`./worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/**
 * A worker thread running worker.ts/js. On Node 20 a `--import tsx` of the parent does not reach worker
 * threads, so from source the worker registers tsx itself before importing the worker module.
 */
function startWorker(setup: SimSetup): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER, { workerData: setup });
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER.href)}); })`;
  return new Worker(code, { eval: true, workerData: setup });
}

/**
 * Runs `jobs` on `workers` worker threads (each reads the trace once and takes the next job when it is
 * free), or in this thread when `workers` is 0 (on `read` if given). Results come back in the order of `jobs`; `onResult`
 * hears each one as it finishes. The first failure rejects and stops the workers.
 */
export async function runJobs(
  setup: SimSetup,
  jobs: readonly SimJob[],
  workers: number,
  onResult?: (r: JobResult) => void,
  /** The trace already read, for in-thread runs. */
  read?: Trace,
): Promise<JobResult[]> {
  if (workers <= 0) {
    const trace = read ?? (await readTrace(setup.trace));
    return jobs.map((job) => {
      const r = runJob(trace, setup, job);
      onResult?.(r);
      return r;
    });
  }
  const results: JobResult[] = new Array(jobs.length);
  const threads: Worker[] = [];
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      const feed = (w: Worker) => {
        if (next < jobs.length) {
          const index = next++;
          w.postMessage({ index, job: jobs[index] });
        } else {
          w.postMessage('exit');
        }
      };
      const n = Math.min(workers, jobs.length);
      if (n === 0) resolve();
      for (let k = 0; k < n; k++) {
        const w = startWorker(setup);
        threads.push(w);
        w.on('message', (m: { index: number; result?: JobResult; error?: string }) => {
          if (m.error !== undefined) return reject(new Error(m.error));
          results[m.index] = m.result!;
          onResult?.(m.result!);
          if (++done === jobs.length) resolve();
          else feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (code !== 0) reject(new Error(`sim worker exited with code ${code}`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return results;
}
