import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface LaunchOptions {
  readonly model: string;
  readonly kind: 'generative' | 'tensor';
  readonly host?: string;
  /** Default: a free port. */
  readonly port?: number;
  /** More command-line flags for main.ts (e.g. ['--kv-mb', '16']). */
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for /ready. */
  readonly readyTimeoutMs?: number;
  /** Where the process's output goes; default: dropped. */
  readonly output?: 'inherit' | 'ignore';
}

export interface LaunchedInstance {
  readonly url: string;
  readonly process: ChildProcess;
  /** SIGTERM (the instance drains), then waits for the exit; its exit code. */
  stop(): Promise<number | null>;
}

/** A loopback port that was free a moment ago (the kernel picks it; a child process then binds it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Node's arguments that start a runtime instance process, before main's own flags: from the compiled
 * build dist/…/main.js, from source (tests) main.ts through tsx.
 */
export const INSTANCE_MAIN_ARGS: readonly string[] = [
  ...(FROM_SOURCE ? ['--import', 'tsx'] : []),
  fileURLToPath(new URL(FROM_SOURCE ? './main.ts' : './main.js', import.meta.url)),
];

/**
 * Starts a runtime instance process and resolves once it answers /ready.
 */
export async function launchInstance(o: LaunchOptions): Promise<LaunchedInstance> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      ...INSTANCE_MAIN_ARGS,
      '--model',
      o.model,
      '--kind',
      o.kind,
      '--host',
      host,
      '--port',
      String(port),
      ...(o.args ?? []),
    ],
    { stdio: ['ignore', o.output ?? 'ignore', o.output ?? 'ignore'], env: o.env ?? process.env },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`instance ${o.model} exited before it was ready (code ${child.exitCode})`);
    const ok = await fetch(`${url}/ready`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`instance ${o.model} was not ready within ${o.readyTimeoutMs ?? 60_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
