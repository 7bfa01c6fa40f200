import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fromSource } from './paths.ts';

const live = new Set<ChildProcess>();
// Last resort if the benchmark dies without stopping its children.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Starts a module of this folder in its own Node process, so a load generator or an upstream never
 * shares the event loop of what it measures. From source the child runs under tsx, from the build as JS.
 */
export function forkSibling(name: string): ChildProcess {
  const file = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const child = fork(file, [], {
    execArgv: fromSource ? ['--import', 'tsx'] : [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves with the child's first message; rejects if it exits (or fails to start) before sending one. */
export function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`${what}: child exited with ${signal ?? code} before answering`));
    child.once('error', reject);
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
  });
}

/** Kills a child and waits until it has gone. Safe to call twice. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await gone;
}

/** One job in a child process: sends the input, resolves with the single reply, waits for the exit. */
export async function runInChild<I, O>(name: string, input: I): Promise<O> {
  const child = forkSibling(name);
  try {
    const reply = firstMessage<O>(child, name);
    child.send(input as object);
    return await reply;
  } finally {
    await stopChild(child);
  }
}

/** The child's side of runInChild: answers the first message with `job(input)` and exits. */
export function serveOneJob<I, O>(job: (input: I) => Promise<O>): void {
  process.once('message', (input) => {
    job(input as I).then(
      (out) => process.send!(out as object, undefined, {}, () => process.exit(0)),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
