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
 *     keys create NAME [--rps N] [--burst N] [--tokens-per-minute N] [--tokens-per-day N]
 *                      [--max-concurrent N]
 *                             a new API key; its secret is printed once, on the first line
 *     keys list               API keys (never their secrets)
 *     keys revoke ID          refused by every gateway from then on
 *   warmgate import DIR --out MODEL_DIR [--name NAME] [--force] [--json]
 *                             a Hugging Face model folder -> a warmgate model folder (no server needed)
 *
 * WARMGATE_URL and WARMGATE_ADMIN_TOKEN stand in for --url and --token.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  formatDecision,
  formatDeployments,
  formatInstances,
  formatKeys,
  type KeyRow,
  type PoolStatus,
} from './format.ts';

// `import` works on files, not on a gateway: it has its own options (runtime/model/import/main.ts).
if (process.argv[2] === 'import') {
  const { runImport } = await import('../../runtime/model/import/main.ts');
  process.exit(await runImport(process.argv.slice(3)));
}

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.WARMGATE_URL ?? 'http://127.0.0.1:8080' },
    token: { type: 'string', default: process.env.WARMGATE_ADMIN_TOKEN },
    follow: { type: 'boolean', short: 'f', default: false },
    rps: { type: 'string' },
    burst: { type: 'string' },
    'tokens-per-minute': { type: 'string' },
    'tokens-per-day': { type: 'string' },
    'max-concurrent': { type: 'string' },
  },
});
const [command, arg, keyArg] = positionals;

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
    const hint = res.status === 401 && !o.token ? ' (pass --token or set WARMGATE_ADMIN_TOKEN)' : '';
    throw new Error(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${hint}`);
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
    case 'keys':
      return keys();
    default:
      throw new Error(
        `unknown command ${command ?? '(none)'}: use deploy, list, describe, delete, instances, decisions or keys`,
      );
  }
}

async function keys(): Promise<void> {
  switch (arg) {
    case 'create': {
      if (!keyArg) throw new Error('keys create needs a name');
      const limits = Object.fromEntries(
        (
          [
            ['requestsPerSecond', o.rps],
            ['burst', o.burst],
            ['tokensPerMinute', o['tokens-per-minute']],
            ['tokensPerDay', o['tokens-per-day']],
            ['maxConcurrentRequests', o['max-concurrent']],
          ] as const
        )
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, number(k, v!)]),
      );
      const created = (await call('POST', '/keys', { name: keyArg, limits })) as KeyRow & { key: string };
      // The secret first and alone on its line, so a script can take it with `head -1`.
      console.log(created.key);
      console.log(`created API key ${created.id} (${created.name}); the key above is shown only once`);
      return;
    }
    case 'list': {
      const r = (await call('GET', '/keys')) as { keys: KeyRow[] };
      console.log(formatKeys(r.keys));
      return;
    }
    case 'revoke': {
      if (!keyArg) throw new Error('keys revoke needs a key id');
      await call('DELETE', `/keys/${encodeURIComponent(keyArg)}`);
      console.log(`revoked ${keyArg}`);
      return;
    }
    default:
      throw new Error(`unknown keys command ${arg ?? '(none)'}: use keys create, keys list or keys revoke`);
  }
}

function number(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${name} must be a number, got '${v}'`);
  return n;
}

main().catch((e: unknown) => {
  console.error(`warmgate: ${(e as Error).message}`);
  process.exit(1);
});
