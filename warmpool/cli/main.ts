#!/usr/bin/env node
/**
 * warmgate: the operator's command line, over the gateway's admin API.
 *
 *   warmgate [--url http://127.0.0.1:8080] [--token T] <command>
 *     deploy FILE.json        create or replace the deployment the file declares
 *     list                    deployments
 *     describe NAME           one deployment, its instances and its latest decisions
 *     delete NAME
 *     instances [NAME]        instances with their states and cold-start times
 *     decisions [NAME] [--follow]   scaling decisions with their reasons
 *
 * WARMGATE_URL and WARMGATE_ADMIN_TOKEN stand in for --url and --token.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatDecision, formatDeployments, formatInstances, type PoolStatus } from './format.ts';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.WARMGATE_URL ?? 'http://127.0.0.1:8080' },
    token: { type: 'string', default: process.env.WARMGATE_ADMIN_TOKEN },
    follow: { type: 'boolean', short: 'f', default: false },
  },
});
const [command, arg] = positionals;

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${o.url.replace(/\/+$/, '')}/admin/v1${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new Error(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}`);
  }
  return parsed;
}

const need = (what: string): string => {
  if (!arg) throw new Error(`${command} needs ${what}`);
  return arg;
};

async function main(): Promise<void> {
  switch (command) {
    case 'deploy': {
      const spec = JSON.parse(await readFile(need('a deployment file'), 'utf8')) as { name?: string };
      if (!spec.name) throw new Error(`${arg} has no "name"`);
      await call('PUT', `/deployments/${encodeURIComponent(spec.name)}`, spec);
      console.log(`deployed ${spec.name}`);
      return;
    }
    case 'list': {
      const r = (await call('GET', '/deployments')) as {
        deployments: Parameters<typeof formatDeployments>[0];
      };
      console.log(formatDeployments(r.deployments));
      return;
    }
    case 'describe': {
      const name = need('a deployment name');
      console.log(JSON.stringify(await call('GET', `/deployments/${encodeURIComponent(name)}`), null, 2));
      const pools = ((await call('GET', '/instances')) as { pools: PoolStatus[] }).pools;
      console.log(formatInstances(pools.filter((p) => p.deployment === name)));
      const d = (await call('GET', `/decisions?deployment=${encodeURIComponent(name)}`)) as {
        decisions: Parameters<typeof formatDecision>[0][];
      };
      for (const x of d.decisions.slice(-5)) console.log(formatDecision(x));
      return;
    }
    case 'delete': {
      const name = need('a deployment name');
      await call('DELETE', `/deployments/${encodeURIComponent(name)}`);
      console.log(`deleted ${name}`);
      return;
    }
    case 'instances': {
      const pools = ((await call('GET', '/instances')) as { pools: PoolStatus[] }).pools;
      console.log(formatInstances(arg ? pools.filter((p) => p.deployment === arg) : pools));
      return;
    }
    case 'decisions': {
      const q = arg ? `?deployment=${encodeURIComponent(arg)}` : '';
      let seen = 0;
      for (;;) {
        const d = (await call('GET', `/decisions${q}`)) as {
          decisions: Parameters<typeof formatDecision>[0][];
        };
        const fresh = d.decisions.filter((x) => x.at > seen);
        for (const x of fresh) console.log(formatDecision(x));
        seen = Math.max(seen, ...fresh.map((x) => x.at));
        if (!o.follow) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    default:
      throw new Error(
        `unknown command ${command ?? '(none)'}: use deploy, list, describe, delete, instances or decisions`,
      );
  }
}

main().catch((e: unknown) => {
  console.error(`warmgate: ${(e as Error).message}`);
  process.exit(1);
});
