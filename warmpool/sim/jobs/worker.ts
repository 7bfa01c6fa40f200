// A simulation worker: reads the trace once, then runs the jobs its parent sends, one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { readTrace } from '../trace/index.ts';
import { runJob } from './run-job.ts';
import type { SimJob, SimSetup } from './types.ts';

const setup = workerData as SimSetup;
const port = parentPort!;
const trace = readTrace(setup.trace);

port.on('message', (msg: { index: number; job: SimJob } | 'exit') => {
  if (msg === 'exit') {
    port.close();
    return;
  }
  trace.then(
    (t) => {
      try {
        port.postMessage({ index: msg.index, result: runJob(t, setup, msg.job) });
      } catch (e) {
        port.postMessage({ index: msg.index, error: (e as Error).stack ?? String(e) });
      }
    },
    (e: Error) => port.postMessage({ index: msg.index, error: e.message }),
  );
});
