import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import {
  freePort,
  INSTANCE_MAIN_ARGS,
  launchInstance,
  type LaunchedInstance,
} from '../../../runtime/instance/launch.ts';
import { MODELS, post, until } from './helpers.ts';

const MODEL = `${MODELS}tiny`;
const FLAGS = ['--intra-op-threads', '1', '--kv-mb', '4'];

/** Greedy tokens of one generation, from the NDJSON stream. */
async function greedy(url: string, prompt: string): Promise<number[]> {
  const res = await post(`${url}/generate`, {
    prompt,
    params: { temperature: 0, maxTokens: 12, ignoreEos: true },
  });
  assert.equal(res.status, 200);
  const events = (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; token?: number });
  return events.filter((e) => e.type === 'token').map((e) => e.token!);
}

describe('standby instance process (real process, tiny model)', { timeout: 60_000 }, () => {
  let reference: LaunchedInstance;
  before(async () => {
    reference = await launchInstance({ model: MODEL, kind: 'generative', args: FLAGS });
  });
  after(() => reference.stop());

  it('primes without a model, refuses a bad assignment, then becomes the instance it is assigned', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      process.execPath,
      [...INSTANCE_MAIN_ARGS, '--standby', '--port', String(port), '--kv-mb', '4'],
      {
        stdio: 'ignore',
      },
    );
    const exited = once(child, 'exit');
    try {
      await until(
        async () => {
          const live = (await fetch(`${url}/live`).then(
            (r) => r.json(),
            () => null,
          )) as { primed?: boolean } | null;
          return live?.primed === true;
        },
        'the standby to prime',
        30_000,
      );
      const ready = await fetch(`${url}/ready`);
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { state: string }).state, 'standby');

      for (const body of [{}, { args: 'x' }, { args: ['--kind', 'nope'] }, { args: ['--standby'] }]) {
        const bad = await post(`${url}/assign`, body);
        assert.equal(bad.status, 400, JSON.stringify(body));
        assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_assignment');
      }

      const ok = await post(`${url}/assign`, { args: ['--model', MODEL, '--kind', 'generative', ...FLAGS] });
      assert.equal(ok.status, 202);
      await until(async () => (await fetch(`${url}/ready`)).ok, 'the assigned instance to be ready', 30_000);
      // Independent reference: the same model in a process launched the ordinary way.
      for (const prompt of ['To be, or not', 'ROMEO:'])
        assert.deepEqual(await greedy(url, prompt), await greedy(reference.url, prompt));
      const again = await post(`${url}/assign`, { args: ['--model', MODEL] });
      assert.ok(again.status >= 400, `a second assignment answered ${again.status}`);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    assert.equal(code, 0);
  });

  it('a standby that is never assigned exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [...INSTANCE_MAIN_ARGS, '--standby', '--port', String(port)], {
      stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    await until(
      async () =>
        await fetch(`http://127.0.0.1:${port}/live`).then(
          (r) => r.ok,
          () => false,
        ),
      'live',
      30_000,
    );
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
  });
});
