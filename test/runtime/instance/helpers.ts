import assert from 'node:assert/strict';
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createInstanceApp } from '../../../runtime/instance/app.ts';
import { INSTANCE_MAIN_ARGS } from '../../../runtime/instance/launch.ts';
import type { RuntimeInstance } from '../../../runtime/instance/instance.ts';

export const MODELS = new URL('../../../runtime/models/', import.meta.url).pathname;

export async function listen(inst: RuntimeInstance): Promise<{ url: string; server: ServerType }> {
  const server = serve({ fetch: createInstanceApp(inst).fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function until(f: () => Promise<boolean> | boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const post = (url: string, body: unknown, init: RequestInit = {}) =>
  fetch(url, {
    method: 'POST',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    body: JSON.stringify(body),
  });

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with this name whose labels include `labels`; undefined if none. */
export function sample(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(hits.length <= 1, `${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

/** A real instance process on the tiny model, with `args` on top of --model, --port 0 and --kv-mb 1. */
export function spawnInstance(args: readonly string[], stdio: StdioOptions): ChildProcess {
  const base = ['--model', `${MODELS}tiny`, '--port', '0', '--kv-mb', '1'];
  return spawn(process.execPath, [...INSTANCE_MAIN_ARGS, ...base, ...args], { stdio });
}

/** Starts an instance process that flags must stop before it serves; its exit code and stderr. */
export async function instanceExit(
  args: readonly string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnInstance(args, ['ignore', 'ignore', 'pipe']);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, stderr };
}
