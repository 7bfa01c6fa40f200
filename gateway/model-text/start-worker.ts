import { Worker } from 'node:worker_threads';
import type { WorkerStart } from './worker-messages.ts';

// Built (dist/*.js) or run from source under tsx (*.ts): the worker is the sibling file of the same kind.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(`./tokenizer-worker.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url);

/**
 * A thread running tokenizer-worker.ts/js, handed `start` with its bytes transferred (the caller's
 * ArrayBuffer is detached). On Node 20 a `--import tsx` of the parent does not reach worker threads, so
 * from source the thread registers tsx itself before importing the worker module.
 */
export function startTokenizerWorker(start: WorkerStart): Worker {
  const options = { workerData: start, transferList: [start.filesBody] };
  if (!FROM_SOURCE) return new Worker(ENTRY, options);
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}
