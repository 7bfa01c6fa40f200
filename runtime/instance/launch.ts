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

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Starts a runtime instance process and resolves once it answers /ready. Run from the compiled build it
 * starts dist/…/main.js; run from source (tests) it starts main.ts through tsx.
 */
export async function launchInstance(o: LaunchOptions): Promise<LaunchedInstance> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? (await freePort());
  const fromSource = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(fromSource ? './main.ts' : './main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      ...(fromSource ? ['--import', 'tsx'] : []),
      main,
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
