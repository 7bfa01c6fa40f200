// A throwaway redis-server on a free loopback port for benchmarks (the tests use test/support/redis-server.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../runtime/instance/launch.ts';

export interface LaunchedRedis {
  readonly url: string;
  stop(): Promise<void>;
}

export async function launchRedis(
  binary = process.env.REDIS_SERVER ?? 'redis-server',
): Promise<LaunchedRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wg-bench-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  const proc = spawn(binary, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 5000;
  while (!(await answersPing(url))) {
    if (gone || Date.now() > deadline) {
      await stop();
      throw new Error(`${binary} on port ${port} ${gone ? 'exited' : 'did not answer PING in 5 s'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url, stop };
}

async function answersPing(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
