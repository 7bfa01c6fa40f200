// Starts a throwaway redis-server on a free loopback port, for tests. Always pair with `after(() => s.stop())`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../runtime/instance/launch.ts';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Starts it again on the same port (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Kills the server (an outage) and keeps its data folder: restart() brings it back (with `persist`, its data too). */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  binary?: string;
  /** How long to wait for PING to answer. Default 5000 ms. */
  readyTimeoutMs?: number;
  /**
   * Keep the data across stop()/restart(), as a production Redis with an append-only file does (every
   * write fsynced, so a SIGKILL loses nothing). Default false: a restart comes back empty.
   */
  persist?: boolean;
}

const live = new Set<ChildProcess>();
// Last resort if a test file dies without running its `after` hooks.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wg-redis-'));
  let child: ChildProcess | null = null;

  async function start(): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const aof = options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...aof];
    const proc = spawn(binary, [...args, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    let output = '';
    const keep = (b: Buffer): void => {
      output = (output + b.toString()).slice(-4000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    let exited: string | null = null;
    proc.once('error', (e) => (exited = `could not start: ${e.message}`));
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      exited ??= `exited with ${signal ?? code}`;
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await ping(port))) {
      if (exited !== null || Date.now() > deadline) {
        await stop();
        throw new Error(
          `redis-server (${binary}) on port ${port} ${exited ?? `did not answer PING within ${readyTimeoutMs} ms`}\n${output}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await gone;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stop();
      await start();
    },
    kill: stop,
  };
}

/** True when something on the port answers +PONG within 500 ms. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (b) => {
      reply += b.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
