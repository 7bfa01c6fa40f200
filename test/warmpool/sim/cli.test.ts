// `npm run sim` as a person runs it: a child process, from source under tsx.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { POLICIES } from '../../../warmpool/policies/index.ts';
import { AZURE, azureLlmCsv, csvTrace, tempDir } from './helpers.ts';

const exec = promisify(execFile);
const MAIN = new URL('../../../warmpool/sim/main.ts', import.meta.url).pathname;
const sim = (...args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', MAIN, ...args], { maxBuffer: 1 << 26 });
const failing = (...args: string[]) =>
  sim(...args).then(
    () => assert.fail('expected a failure'),
    (e: { code: number; stderr: string }) => e,
  );
const lastLine = (out: string) => JSON.parse(out.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;

// Two policies keep the sweep short; the engine tests run every policy.
const SWEPT = ['keepalive', 'histogram'] as const;

const KEYS = [
  'policy',
  'requests',
  'cold_start_pct',
  'wait_ms_p50',
  'wait_ms_p99',
  'instance_seconds',
  'idle_instance_seconds',
];

describe('npm run sim', { timeout: 120_000 }, () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('prints a table, then exactly one JSON object as the last line', async () => {
    const trace = dir.file('one.csv', csvTrace([[0, 'a', 1000]]));
    const { stdout } = await sim('--trace', trace, '--policy', 'keepalive', '--json', '--workers', '0');
    assert.match(stdout, /^policy\s+setting\s+requests\s+cold %/);
    const out = lastLine(stdout) as { policies: Record<string, unknown>[] };
    assert.equal(out.policies.length, 1);
    const p = out.policies[0]!;
    for (const k of KEYS) assert.ok(k in p, `${k} in ${JSON.stringify(p)}`);
    assert.deepEqual(
      KEYS.map((k) => p[k]),
      ['keepalive', 1, 100, 10_000, 10_000, 60, 49],
    );
  });

  it('sweeps policies on worker threads, gives the same figures as in one thread, and writes a report', async () => {
    const report = join(dir.path, 'report');
    const base = ['--trace', AZURE, '--limit-functions', '2', '--json'];
    const [threads, single] = await Promise.all([
      sim(...base, '--policy', SWEPT.join(','), '--sweep', '--workers', '2', '--report', report),
      sim(...base, '--policy', SWEPT.join(','), '--workers', '0'),
    ]);
    const out = lastLine(threads.stdout) as {
      policies: { policy: string }[];
      sweep: { policy: string; knob: string; value: number }[];
    };
    assert.deepEqual(
      out.policies.map((p) => p.policy),
      SWEPT,
    );
    const points = SWEPT.map((n) => POLICIES[n]).flatMap((p) =>
      p.knob.values.map((v) => `${p.name} ${p.knob.name}=${v}`),
    );
    assert.deepEqual(
      out.sweep.map((s) => `${s.policy} ${s.knob}=${s.value}`),
      points,
    );
    const strip = (o: { policies: Record<string, unknown>[] }) =>
      o.policies.map(({ elapsed_s: _, ...rest }) => rest);
    assert.deepEqual(strip(out as never), strip(lastLine(single.stdout) as never));
    for (const f of ['index.html', 'demand.svg', 'warm-instances.svg', 'cold-starts.svg', 'pareto.svg'])
      assert.ok(existsSync(join(report, f)), f);
    const html = readFileSync(join(report, 'index.html'), 'utf8');
    assert.equal(html.match(/<svg /g)?.length, 4);
    for (const name of SWEPT) assert.ok(html.includes(`>${name}<`), name);
  });

  it('fails with the file and line of malformed input', async () => {
    const bad = dir.file('bad.csv', 'timestamp_ms,model\n1,a\n2\n');
    const e = await failing('--trace', bad, '--workers', '0');
    assert.equal(e.code, 1);
    assert.match(e.stderr, /bad\.csv:3: expected 2 fields, found 1/);
  });

  it('reads an Azure LLM trace, its service times from tokens by the --*-ms-per-token flags', async () => {
    const trace = dir.file(
      'azure_llm_2023_conv.csv',
      azureLlmCsv([
        ['2023-11-16 18:15:46.6805900', 374, 44],
        ['2023-11-16 18:15:50.9951690', 396, 109],
      ]),
    );
    const flags = ['--prefill-ms-per-token', '1', '--decode-ms-per-token', '10', '--overhead-ms', '5'];
    const { stdout } = await sim(
      '--trace',
      trace,
      '--policy',
      'keepalive',
      '--json',
      '--workers',
      '0',
      ...flags,
    );
    const out = lastLine(stdout) as { trace: Record<string, unknown>; settings: Record<string, unknown> };
    assert.equal(out.trace.format, 'azure-llm-2023');
    assert.equal(out.trace.requests, 2);
    assert.equal(out.trace.service_times, 'token model: 1 ms × input + 10 ms × output tokens + 5 ms');
    assert.deepEqual(
      [out.settings.prefill_ms_per_token, out.settings.decode_ms_per_token, out.settings.overhead_ms],
      [1, 10, 5],
    );
  });

  it('--skip-invalid: the table is followed by the rows skipped; the JSON counts them and the own settings', async () => {
    const trace = dir.file(
      'skip.csv',
      ['timestamp_ms,model,duration_ms,cold_start_ms', '0,a,1000,', '1,a', '2,b,1000,5000', 'x,b,1,'].join(
        '\n',
      ),
    );
    const { stdout } = await sim(
      '--trace',
      trace,
      '--policy',
      'keepalive',
      '--json',
      '--workers',
      '0',
      '--skip-invalid',
    );
    const note = stdout.split('\n').filter((l) => l.startsWith('skipped') || l.startsWith('  line'));
    assert.deepEqual(note, [
      `skipped 2 invalid rows of ${trace} (--skip-invalid):`,
      '  line 3: expected 4 fields, found 2',
      '  line 5: timestamp_ms must be a number ≥ 0, got "x"',
    ]);
    const out = lastLine(stdout) as { trace: Record<string, unknown> };
    assert.equal(out.trace.skipped_rows, 2);
    assert.deepEqual(out.trace.skipped_examples, [
      { line: 3, reason: 'expected 4 fields, found 2' },
      { line: 5, reason: 'timestamp_ms must be a number ≥ 0, got "x"' },
    ]);
    assert.deepEqual([out.trace.deployments_own_cold_start_ms, out.trace.deployments_own_slots], [1, 0]);
    const e = await failing('--trace', trace, '--workers', '0');
    assert.equal(e.code, 1);
    assert.match(e.stderr, /skip\.csv:3: expected 4 fields, found 2/);
  });

  it('refuses an unknown policy or a bad flag, naming what is allowed', async () => {
    const trace = dir.file('ok.csv', csvTrace([[0, 'a', 1]]));
    const e1 = await failing('--trace', trace, '--policy', 'psychic');
    assert.equal(e1.code, 2);
    assert.match(e1.stderr, /unknown policy "psychic"; policies: reactive, keepalive/);
    const e2 = await failing('--trace', trace, '--slots', '0');
    assert.equal(e2.code, 2);
    assert.match(e2.stderr, /--slots must be a number in \[1, 100000\], got "0"/);
    const e3 = await failing('--trace', trace, '--knob', 'keepAliveMs');
    assert.match(e3.stderr, /--knob takes name=number, got "keepAliveMs"/);
  });
});
