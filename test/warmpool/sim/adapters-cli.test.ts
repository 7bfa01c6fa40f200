// `npm run sim -- --adapters-over-base N` as a person runs it, and the flags it refuses.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ArgsError, parseSimArgs } from '../../../warmpool/sim/index.ts';
import { AZURE, tempDir } from './helpers.ts';

const exec = promisify(execFile);
const MAIN = new URL('../../../warmpool/sim/main.ts', import.meta.url).pathname;
const sim = (...args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', MAIN, ...args], { maxBuffer: 1 << 26 });
const lastLine = (out: string) => JSON.parse(out.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;

type Row = Record<string, unknown>;
/** A policy's figures without what only adapter runs report, nor the run time. */
const common = ({
  arrangement: _a,
  adapter_loads: _l,
  adapter_load_requests: _r,
  adapter_load_wait_s: _w,
  adapter_load_wait_ms_mean: _m,
  elapsed_s: _e,
  ...rest
}: Row) => rest;

describe('npm run sim -- --adapters-over-base', { timeout: 120_000 }, () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('runs each policy per adapter and over one base; per adapter, the figures of a run without adapters', async () => {
    const report = join(dir.path, 'report');
    const base = [
      '--trace',
      AZURE,
      '--limit-functions',
      '3',
      '--policy',
      'keepalive',
      '--json',
      '--workers',
      '0',
    ];
    const [adapters, plain] = await Promise.all([
      sim(...base, '--adapters-over-base', '6', '--adapter-load-ms', '20', '--report', report),
      sim(...base),
    ]);
    assert.match(
      adapters.stdout,
      /^policy\s+arrangement\s+setting\s+requests\s+base cold starts\s+cold %\s+adapter loads/,
    );
    assert.match(adapters.stderr, /adapters over one base: 3 functions as 3 adapters \(one function each\)/);
    const out = lastLine(adapters.stdout) as { policies: Row[]; settings: Row };
    assert.deepEqual(
      out.policies.map((p) => [p.policy, p.arrangement]),
      [
        ['keepalive', 'per-adapter'],
        ['keepalive', 'over-base'],
      ],
    );
    const [pools, overBase] = out.policies as [Row, Row];
    assert.deepEqual(common(pools), common((lastLine(plain.stdout) as { policies: Row[] }).policies[0]!));
    assert.equal(pools.adapter_loads, 0);
    assert.equal(overBase.deployments, 1);
    assert.ok((overBase.adapter_loads as number) >= 3);
    assert.deepEqual(
      [
        out.settings.adapters_over_base,
        out.settings.adapters,
        out.settings.adapter_slots,
        out.settings.adapter_load_ms,
      ],
      [6, 3, 8, 20],
    );
    const html = readFileSync(join(report, 'index.html'), 'utf8');
    for (const label of ['keepalive per-adapter', 'keepalive over-base'])
      assert.ok(html.includes(`>${label}<`), label);
  });

  it('refuses a bad adapters flag with exit status 2, saying what it takes', async () => {
    const e = await sim('--trace', AZURE, '--adapters-over-base', '4', '--adapter-slots', '4').then(
      () => assert.fail('expected a failure'),
      (x: { code: number; stderr: string }) => x,
    );
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--adapter-slots must be at least --slots \(8\), got "4"/);
  });
});

describe('the adapters flags', () => {
  const refused = (args: string[], message: RegExp) =>
    assert.throws(
      () => parseSimArgs(args),
      (e: unknown) => e instanceof ArgsError && message.test(e.message),
    );

  it('default to 8 adapter slots and a 15 ms load, and are off without --adapters-over-base', () => {
    assert.equal(parseSimArgs([]).adapters, undefined);
    assert.deepEqual(parseSimArgs(['--adapters-over-base', '200']).adapters, {
      count: 200,
      slots: 8,
      loadMs: 15,
    });
    assert.deepEqual(
      parseSimArgs([
        '--adapters-over-base',
        '2',
        '--slots',
        '1',
        '--adapter-slots',
        '1',
        '--adapter-load-ms',
        '0',
      ]).adapters,
      { count: 2, slots: 1, loadMs: 0 },
    );
  });

  it('refuse negative, zero, fractional or missing values, and companions without the mode', () => {
    refused(
      ['--adapters-over-base', '0'],
      /--adapters-over-base must be a number in \[1, 1000000000\], got "0"/,
    );
    refused(['--adapters-over-base', '2.5'], /--adapters-over-base must be an integer/);
    refused(['--adapters-over-base'], /argument missing/);
    refused(
      ['--adapters-over-base', '9', '--adapter-slots=-1'],
      /--adapter-slots must be a number in \[1, 100000\], got "-1"/,
    );
    refused(['--adapters-over-base', '9', '--adapter-slots', 'many'], /--adapter-slots must be a number/);
    refused(
      ['--adapters-over-base', '9', '--adapter-load-ms=-5'],
      /--adapter-load-ms must be a number in \[0, 3600000\], got "-5"/,
    );
    refused(
      ['--adapters-over-base', '9', '--slots', '16'],
      /--adapter-slots must be at least --slots \(16\), got "8"/,
    );
    refused(['--adapter-slots', '16'], /--adapter-slots needs --adapters-over-base N/);
    refused(['--adapter-load-ms', '5'], /--adapter-load-ms needs --adapters-over-base N/);
  });
});
