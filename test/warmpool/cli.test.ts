// The warmgate CLI as an operator runs it (a child process) against a running platform over HTTP.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { ADMIN_TOKEN, deployment } from '../support/platform.ts';

const run = promisify(execFile);
const CLI = new URL('../../warmpool/cli/main.ts', import.meta.url).pathname;

describe('warmgate CLI over the admin API', { timeout: 60_000 }, () => {
  let wg: RunningWarmgate;
  const dir = mkdtempSync(join(tmpdir(), 'wg-cli-'));
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', CLI, '--url', wg.url, '--token', ADMIN_TOKEN, ...args]).then(
      (r) => r.stdout,
    );
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
});
