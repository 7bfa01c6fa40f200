// `warmgate keys` as an operator runs it (a child process) against a running gateway over HTTP.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';

const run = promisify(execFile);
const CLI = new URL('../../../warmpool/cli/main.ts', import.meta.url).pathname;
const TOKEN = 'cli-admin-token';

describe('warmgate keys (CLI)', { timeout: 60_000 }, () => {
  let gw: RunningGateway;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ['--import', 'tsx', CLI, '--url', gw.url, ...args], {
      env: { ...process.env, WARMGATE_ADMIN_TOKEN: '', ...env },
    }).then((r) => r.stdout);
  const models = (key: string) =>
    fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => {
      await r.body?.cancel();
      return r.status;
    });

  before(async () => {
    gw = await startGateway({ port: 0, adminToken: TOKEN, apiKeys: 'required' });
  });
  after(async () => {
    await gw?.close();
  });

  it('creates (secret printed once, first line), lists without secrets, revokes', async () => {
    const out = await cli([
      '--token',
      TOKEN,
      'keys',
      'create',
      'ci-bot',
      '--rps',
      '5',
      '--burst',
      '10',
      '--tokens-per-minute',
      '1000',
      '--tokens-per-day',
      '50000',
      '--max-concurrent',
      '4',
    ]);
    const [key, said] = out.trimEnd().split('\n');
    const id = /^wg_([0-9a-f]{12})_/.exec(key!)?.[1];
    assert.ok(id, out);
    assert.match(said!, new RegExp(`created API key ${id} \\(ci-bot\\)`));
    assert.equal(await models(key!), 200);

    // The token from the environment, as operators usually give it.
    const list = await cli(['keys', 'list'], { WARMGATE_ADMIN_TOKEN: TOKEN });
    assert.match(list, /^ID\s+NAME\s+STATE/m);
    assert.match(
      list,
      new RegExp(`^${id}\\s+ci-bot\\s+active\\s+\\S+\\s+5\\s+10\\s+1000\\s+50000\\s+4$`, 'm'),
    );
    assert.ok(!list.includes(key!.slice(16)), 'no secret in the list');
    const raw = await fetch(`${gw.url}/admin/v1/keys`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual(JSON.parse(await cli(['--token', TOKEN, 'keys', 'list', '--json'])), await raw.json());

    assert.match(await cli(['--token', TOKEN, 'keys', 'revoke', id!]), new RegExp(`revoked ${id}`));
    assert.equal(await models(key!), 401);
    assert.match(
      await cli(['--token', TOKEN, 'keys', 'list']),
      new RegExp(`^${id}\\s+ci-bot\\s+revoked`, 'm'),
    );
  });

  it('without the admin token it says why and exits 1', async () => {
    await assert.rejects(cli(['keys', 'list']), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr ?? '', /401 unauthorized: .*WARMGATE_ADMIN_TOKEN/);
      return true;
    });
    await assert.rejects(
      cli(['--token', TOKEN, 'keys', 'revoke', '0123456789ab']),
      (e: { stderr?: string }) => {
        assert.match(e.stderr ?? '', /404 api_key_not_found/);
        return true;
      },
    );
    await assert.rejects(
      cli(['--token', TOKEN, 'keys', 'create', 'x', '--rps', 'fast']),
      (e: { code?: number; stderr?: string }) => {
        assert.equal(e.code, 2, 'bad usage');
        assert.equal(
          e.stderr,
          "warmgate: option '--rps <n>' argument 'fast' is invalid. expected a number; see 'warmgate keys create --help'\n",
        );
        return true;
      },
    );
  });
});
