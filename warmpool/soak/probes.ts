import { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent } from 'undici';
import type { LoadReport } from '../../runtime/instance/load-report.ts';

/** This process's resident memory and open handles, after a full collection so garbage does not count. */
export interface ProcessSample {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly handles: number;
  /** Open handles by kind (TCPSocketWrap, Timeout, ...), to tell growth apart. */
  readonly byKind: Record<string, number>;
}

let collect: (() => void) | null | undefined;

/** global.gc when node runs with --expose-gc, else one made available at run time (V8's own flag). */
function gc(): (() => void) | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return (collect = exposed);
  try {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  } catch {
    collect = null;
  }
  return collect;
}

/**
 * Open handles come and go with each poll, tick and publish; what leaks stays. So the count is the least
 * of `samples` readings `gapMs` apart (with its breakdown), after a full collection for the RSS.
 */
export async function sampleProcess(samples = 10, gapMs = 100): Promise<ProcessSample> {
  const full = gc();
  if (full) {
    // Twice, a turn apart: objects freed by finalizers of the first pass go in the second.
    full();
    await new Promise((r) => setImmediate(r));
    full();
  }
  const m = process.memoryUsage();
  let least: string[] | null = null;
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    const now = process.getActiveResourcesInfo();
    if (least === null || now.length < least.length) least = now;
  }
  const byKind: Record<string, number> = {};
  for (const r of least ?? []) byKind[r] = (byKind[r] ?? 0) + 1;
  return {
    rssMb: Math.round((m.rss / 2 ** 20) * 10) / 10,
    heapUsedMb: Math.round((m.heapUsed / 2 ** 20) * 10) / 10,
    handles: least?.length ?? 0,
    byKind,
  };
}

export const gcExposed = (): boolean => gc() !== null;

/** One instance's /load, and the KV blocks it holds for live sequences (cached free blocks not counted). */
export interface InstanceSample {
  readonly id: string;
  readonly url: string;
  readonly report: LoadReport | null;
  readonly kvBlocksInUse: number | null;
  readonly error?: string;
}

/**
 * Every instance's /load over a connection pool of its own, closed before returning, so the probe leaves
 * no keep-alive socket behind in the handle count it helps to measure.
 */
export async function sampleInstances(
  instances: readonly { id: string; url: string }[],
): Promise<InstanceSample[]> {
  const agent = new Agent({ headersTimeout: 5000, bodyTimeout: 5000 });
  try {
    return await Promise.all(instances.map((i) => sampleInstance(agent, i.id, i.url)));
  } finally {
    await agent.close();
  }
}

async function sampleInstance(agent: Agent, id: string, url: string): Promise<InstanceSample> {
  try {
    const res = await agent.request({ origin: url, path: '/load', method: 'GET' });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { id, url, report: null, kvBlocksInUse: null, error: `GET /load: ${res.statusCode}` };
    }
    const report = (await res.body.json()) as LoadReport;
    const inUse =
      report.kvTotalBlocks !== undefined && report.kvFreeBlocks !== undefined
        ? report.kvTotalBlocks - report.kvFreeBlocks
        : null;
    return { id, url, report, kvBlocksInUse: inUse };
  } catch (e) {
    return { id, url, report: null, kvBlocksInUse: null, error: String(e) };
  }
}

/**
 * Open TCP sockets of this process by peer, e.g. { redis: 4, instance: 2, "127.0.0.1:9000": 1 }: where
 * handle growth comes from. Peers are named by their port (`remote`) or, for accepted connections, by
 * the local port they came in on (`local`). Reads Node's list of live handles (process._getActiveHandles).
 */
export function socketsByPeer(
  remote: ReadonlyMap<number, string>,
  local: ReadonlyMap<number, string>,
): Record<string, number> {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const out: Record<string, number> = {};
  for (const h of handles) {
    if (!(h instanceof Socket)) continue;
    const name =
      h.remotePort === undefined
        ? 'pipe or unconnected'
        : (remote.get(h.remotePort) ??
          local.get(h.localPort ?? -1) ??
          `${h.remoteAddress ?? '?'}:${h.remotePort}`);
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}
