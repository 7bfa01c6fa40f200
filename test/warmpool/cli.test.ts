// The warmgate CLI as an operator runs it (a child process) against a running platform over HTTP.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { ADMIN_HEADERS, ADMIN_TOKEN, deployment } from '../support/platform.ts';
import { SCALING_DEFAULTS } from '../../gateway/deployments/index.ts';

const run = promisify(execFile);
const CLI = new URL('../../warmpool/cli/main.ts', import.meta.url).pathname;

// Each command is a fresh node process (tsx compiles the CLI at each start): seconds apiece on a busy
// 2-core machine, so the suite's limit is generous; no test here measures time.
describe('warmgate CLI over the admin API', { timeout: 300_000 }, () => {
  let wg: RunningWarmgate;
  const dir = mkdtempSync(join(tmpdir(), 'wg-cli-'));
  const argv = (args: string[]) => ['--import', 'tsx', CLI, '--url', wg.url, '--token', ADMIN_TOKEN, ...args];
  const cli = (...args: string[]) => run(process.execPath, argv(args)).then((r) => r.stdout);
  const api = async <T = unknown>(path: string): Promise<T> => {
    const res = await fetch(`${wg.url}/admin/v1${path}`, { headers: ADMIN_HEADERS });
    assert.equal(res.status, 200, path);
    return (await res.json()) as T;
  };
  /** Runs a --follow command until it has printed for `ms`, then stops it as Ctrl-C would. */
  const follow = async (ms: number, ...args: string[]): Promise<string[]> => {
    const child = spawn(process.execPath, argv(args), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await once(child.stdout, 'data'); // timed from its first read, not from its start-up
    await new Promise((r) => setTimeout(r, ms));
    child.kill('SIGINT');
    await once(child, 'close');
    return out.trimEnd().split('\n');
  };
  before(async () => {
    wg = await startWarmgate({
      port: 0,
      adminToken: ADMIN_TOKEN,
      tickMs: 100,
      deployments: [
        deployment('tiny', 'generative', 'tiny', {
          scaling: { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
        }),
      ],
    });
    const end = Date.now() + 30_000;
    while (wg.gateway.gateway.registry.routable('tiny').length === 0) {
      assert.ok(Date.now() < end, 'tiny ready within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await wg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploys, lists, shows instances and decisions, deletes', async () => {
    const file = join(dir, 'spare.json');
    const spare = deployment('spare', 'generative', 'tiny', {
      scaling: { minInstances: 0, maxInstances: 1, warmBuffer: 0, keepAliveMs: 1000, ttftSloMs: 1000 },
    });
    writeFileSync(file, JSON.stringify(spare));
    assert.match(await cli('deploy', file), /deployed spare/);
    const list = await cli('list');
    assert.match(list, /^NAME\s+KIND/m);
    assert.match(list, /^spare\s+generative/m);
    assert.match(list, /^tiny\s+generative/m);
    const instances = await cli('instances', 'tiny');
    assert.match(instances, /^tiny\s+tiny-\S+\s+(ready-idle|serving)\s+\d+ ms\s+http:\/\/127\.0\.0\.1:\d+/m);
    const decisions = await cli('decisions', 'tiny');
    assert.match(decisions, /tiny {2}\d+ -> 1 {2}\S/, decisions);
    const described = await cli('describe', 'tiny');
    assert.match(described, /"name": "tiny"/);
    assert.match(await cli('delete', 'spare'), /deleted spare/);
    assert.doesNotMatch(await cli('list'), /^spare/m);
  });

  it('a refused command says why and exits 1', async () => {
    await assert.rejects(cli('delete', 'nope'), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr ?? '', /404 deployment_not_found/);
      return true;
    });
  });

  // A decision as `decisions` tells changes apart: its counts (`N -> M`) and its reason's wording, the
  // reason's numbers aside (they move every tick).
  const gist = (line: string) => {
    const m = /^\S+ {2}(\S+ {2}\d+ -> \d+ {2})(.*)$/.exec(line);
    return m ? m[1]! + m[2]!.replace(/\d+(\.\d+)?/g, '#') : line;
  };

  it('decisions prints a decision when it changes; --all prints every tick', async () => {
    const ring = (await api<{ decisions: unknown[] }>('/decisions?deployment=tiny')).decisions;
    const all = (await cli('decisions', 'tiny', '--all')).trimEnd().split('\n');
    const changes = (await cli('decisions', 'tiny')).trimEnd().split('\n');
    // A steady pool of one: the controller repeats its decision every 100 ms tick.
    assert.ok(ring.length >= 20 && all.length >= ring.length, `${all.length} of ${ring.length}`);
    assert.ok(
      all.some((l, i) => i > 0 && gist(l) === gist(all[i - 1]!)),
      'ticks repeat',
    );
    assert.ok(changes.length <= 3, changes.join('\n'));
    for (const [i, l] of changes.entries()) {
      assert.match(l, /^\S+Z {2}tiny {2}\d+ -> 1 {2}\S/);
      if (i > 0) assert.notEqual(gist(l), gist(changes[i - 1]!), 'each line a change');
    }

    const followed = await follow(3000, 'decisions', 'tiny', '--follow');
    const followedAll = await follow(3000, 'decisions', 'tiny', '--follow', '--all');
    assert.ok(followed.length <= 3, followed.join('\n'));
    // The ring's 50, then one a tick (100 ms, more on a busy host) while it follows.
    assert.ok(followedAll.length >= 60, `${followedAll.length} lines`);
    const at = followedAll.map((l) => Date.parse(l.split(' ')[0]!));
    assert.ok(
      at.every((t, i) => i === 0 || t > at[i - 1]!),
      'each tick once, in order',
    );
  });

  it('status prints each deployment as the status page has it; --json the admin API answer', async () => {
    const text = await cli('status');
    assert.match(text, /^NAME\s+INSTANCES\s+DESIRED\s+REQ\/H\s+FORECAST\/MIN\s+WARM\s+COLD/m);
    const { pools } = await api<{ pools: { deployment: string; instances: { state: string }[] }[] }>(
      '/instances',
    );
    const tiny = pools.find((p) => p.deployment === 'tiny')!;
    const states = tiny.instances.map((i) => `1 ${i.state}`).join(', ');
    assert.match(text, new RegExp(`^tiny\\s+${states}\\s+1\\s+\\d+\\s`, 'm'), text);
    assert.match(text, /deployments; page 1 of 1$/m);

    const json = JSON.parse(await cli('status', '--json', '--filter', 'tin')) as {
      q: string;
      deployments: { name: string; byState: Record<string, number>; demand: { arrivals: number[] } }[];
    };
    const api_ = await api<typeof json>('/status?q=tin');
    assert.equal(json.q, 'tin');
    assert.deepEqual(
      json.deployments.map((d) => [d.name, d.byState, d.demand.arrivals.length]),
      api_.deployments.map((d) => [d.name, d.byState, 60]),
    );
    await assert.rejects(cli('status', '--page', '0'), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr ?? '', /whole number/);
      return true;
    });
  });

  it('--json prints what the admin API answers', async () => {
    const json = async (...args: string[]) => JSON.parse(await cli(...args, '--json')) as unknown;
    assert.deepEqual(await json('list'), await api('/deployments'));
    assert.deepEqual(await json('describe', 'tiny'), await api('/deployments/tiny'));
    const pools = (await api<{ pools: { deployment: string }[] }>('/instances')).pools;
    assert.deepEqual(await json('instances', 'tiny'), {
      pools: pools.filter((p) => p.deployment === 'tiny'),
    });
    assert.deepEqual(await json('instances'), { pools });
    // Decisions move every tick: what the CLI read equals the API's answer over the ticks both saw.
    const { decisions: read } = (await json('decisions', 'tiny')) as { decisions: { at: number }[] };
    const { decisions: later } = await api<{ decisions: { at: number }[] }>('/decisions?deployment=tiny');
    const both = later.filter((d) => d.at <= read.at(-1)!.at);
    assert.ok(both.length > 0);
    assert.deepEqual(read.slice(-both.length), both);
  });

  it('deploy takes YAML as it takes JSON; scaling fields left out get their defaults', async () => {
    const spec = {
      name: 'from-json',
      kind: 'generative',
      model: { path: (deployment('x', 'generative', 'tiny').model as { path: string }).path },
      promptTemplate: 'Summarize:\n{{text}}\n',
      scaling: { keepAliveMs: 1000, policy: 'reactive' },
    };
    writeFileSync(join(dir, 'from-json.json'), JSON.stringify(spec));
    writeFileSync(
      join(dir, 'from-yaml.yaml'),
      [
        '# the same deployment, written as people write YAML',
        'name: from-yaml',
        'kind: generative',
        'model:',
        `  path: ${spec.model.path}`,
        'promptTemplate: |',
        '  Summarize:',
        '  {{text}}',
        'scaling: { keepAliveMs: 1000, policy: reactive }',
      ].join('\n'),
    );
    // No extension: JSON when it parses as JSON, else YAML.
    writeFileSync(join(dir, 'from-yaml-too'), 'name: from-yaml-too\nkind: generative\nmodel: { path: /m }\n');
    assert.match(await cli('deploy', join(dir, 'from-json.json')), /^deployed from-json \(created\)$/m);
    assert.match(await cli('deploy', join(dir, 'from-yaml.yaml')), /^deployed from-yaml \(created\)$/m);
    assert.match(await cli('deploy', join(dir, 'from-yaml.yaml')), /^deployed from-yaml \(replaced\)$/m);
    assert.match(await cli('deploy', join(dir, 'from-yaml-too')), /^deployed from-yaml-too/m);
    const fromJson = await api<Record<string, unknown>>('/deployments/from-json');
    assert.deepEqual(await api('/deployments/from-yaml'), { ...fromJson, name: 'from-yaml' });
    assert.deepEqual(fromJson.scaling, { ...SCALING_DEFAULTS, keepAliveMs: 1000, policy: 'reactive' });
    assert.deepEqual(
      (await api<{ scaling: unknown }>('/deployments/from-yaml-too')).scaling,
      SCALING_DEFAULTS,
    );
    for (const name of ['from-json', 'from-yaml', 'from-yaml-too']) await cli('delete', name);

    writeFileSync(join(dir, 'broken.yaml'), 'name: [unclosed\n');
    await assert.rejects(cli('deploy', join(dir, 'broken.yaml')), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(
        e.stderr ?? '',
        /^warmgate: \S+broken\.yaml is not valid YAML: .* at line 2, column 1; see 'warmgate deploy --help'\n$/,
      );
      return true;
    });
  });

  it('logs shows the lines an instance printed', async () => {
    const [pool] = (
      await api<{ pools: { instances: { id: string; url: string }[] }[] }>('/instances')
    ).pools.filter((p) => (p as unknown as { deployment: string }).deployment === 'tiny');
    const [instance] = pool!.instances;
    const port = new URL(instance!.url).port;
    const lines = await cli('logs', 'tiny');
    // The runtime's own lines: where it listens (this instance's port), and its ready line.
    assert.match(lines, new RegExp(`^instance listening on 127\\.0\\.0\\.1:${port}, `, 'm'));
    assert.match(lines, /^instance ready: tiny-test on cpu: load \d+ ms/m);
    assert.equal(await cli('logs', instance!.id), lines);
    const last = await cli('logs', 'tiny', '--lines', '1', '--timestamps');
    assert.match(last, /^\d{4}-\S+Z \S.*\n$/);
    assert.equal(last.replace(/^\S+ /, ''), lines.trimEnd().split('\n').at(-1) + '\n');
    assert.deepEqual(JSON.parse(await cli('logs', instance!.id, '--json')), [
      await api(`/instances/${instance!.id}/logs`),
    ]);
    await assert.rejects(cli('logs', 'nosuch'), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 1);
      assert.equal(
        e.stderr,
        "warmgate: no deployment or instance named 'nosuch'; see 'warmgate instances'\n",
      );
      return true;
    });
  });
});
