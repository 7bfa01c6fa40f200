import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../runtime/instance/launch.ts';
import { fromSource, repoRoot } from './paths.ts';

export interface InstanceOptions {
  readonly count: number;
  /** Model folder, relative to the repository root. */
  readonly model: string;
  readonly kvMb: number;
  /** ONNX Runtime intra-op threads per instance (--intra-op-threads; 0: one per core). */
  readonly intraOpThreads: number;
  readonly readyTimeoutMs?: number;
}

export interface RunningInstances {
  readonly urls: readonly string[];
  /** Drains and stops every instance (SIGTERM), waiting for each to exit. */
  stop(): Promise<void>;
}

/** The prefix-cache counters of an instance's GET /load, when it reports them. */
export interface PrefixCounters {
  readonly hitTokens: number;
  readonly queryTokens: number;
}

/**
 * Starts `count` runtime instance processes (runtime/instance/main, the build's or, from source, under
 * tsx) on free loopback ports and waits until every one answers /ready.
 */
export async function startInstances(o: InstanceOptions): Promise<RunningInstances> {
  const root = repoRoot();
  const main = fromSource
    ? join(root, 'runtime/instance/main.ts')
    : join(root, 'dist/runtime/instance/main.js');
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const kill = () => children.forEach((c) => c.kill('SIGKILL'));
  process.once('exit', kill);

  async function stop(): Promise<void> {
    process.off('exit', kill);
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGTERM');
        await gone;
      }),
    );
  }

  const urls: string[] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      let port = await freePort();
      while (urls.includes(`http://127.0.0.1:${port}`)) port = await freePort();
      const args = [
        ...(fromSource ? ['--import', 'tsx'] : []),
        main,
        ...[
          '--model',
          o.model,
          '--port',
          String(port),
          '--kv-mb',
          String(o.kvMb),
          '--intra-op-threads',
          String(o.intraOpThreads),
        ],
      ];
      const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      logs.push('');
      const keep = (b: Buffer) => (logs[i] = (logs[i]! + b.toString()).slice(-2000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      children.push(child);
      urls.push(`http://127.0.0.1:${port}`);
    }
    const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
    await Promise.all(
      urls.map(async (url, i) => {
        while (!(await ready(url))) {
          const c = children[i]!;
          if (c.exitCode !== null || c.signalCode !== null || Date.now() > deadline) {
            throw new Error(`runtime instance ${url} did not become ready:\n${logs[i]}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls, stop };
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Reads an instance's prefix-cache counters from GET /load; null when it does not report them (older
 * instances report only a rate, which cannot be summed across instances).
 */
export async function prefixCounters(url: string): Promise<PrefixCounters | null> {
  try {
    const load = (await (await fetch(`${url}/load`)).json()) as Record<string, unknown>;
    const hit = load.prefixHitTokens;
    const query = load.prefixQueryTokens ?? load.prefixQueriedTokens;
    return typeof hit === 'number' && typeof query === 'number'
      ? { hitTokens: hit, queryTokens: query }
      : null;
  } catch {
    return null;
  }
}

/** Σ hits / Σ queries between two readings of every instance's counters. */
export function prefixHitRate(
  before: readonly (PrefixCounters | null)[],
  after: readonly (PrefixCounters | null)[],
): number | null {
  let hit = 0;
  let query = 0;
  for (const [i, b] of before.entries()) {
    const a = after[i];
    if (!a || !b) return null;
    hit += a.hitTokens - b.hitTokens;
    query += a.queryTokens - b.queryTokens;
  }
  return query > 0 ? hit / query : null;
}
