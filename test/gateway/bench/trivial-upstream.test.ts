import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTrivialUpstream, type TrivialUpstream } from '../../../gateway/bench/trivial-upstream.ts';

const post = (url: string, body: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('trivial upstream (a child process speaking the instance API)', { timeout: 120_000 }, () => {
  let up: TrivialUpstream;
  before(async () => {
    up = await startTrivialUpstream();
  });
  after(() => up.stop());

  it('answers readiness, liveness, a load report of zeros and the metadata', async () => {
    const ready = await fetch(`${up.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, state: 'ready' });
    assert.equal((await fetch(`${up.url}/live`)).status, 200);
    const load = (await (await fetch(`${up.url}/load`)).json()) as Record<string, unknown>;
    assert.equal(load.state, 'ready');
    for (const k of ['running', 'waiting', 'kvUsagePct', 'prefixHitTokens', 'prefixQueryTokens'])
      assert.equal(load[k], 0, k);
    const meta = (await (await fetch(`${up.url}/metadata`)).json()) as Record<string, unknown>;
    assert.deepEqual([meta.kind, meta.vocabSize, meta.contextLength], ['generative', 257, 1024]);
    assert.equal((await fetch(`${up.url}/nope`)).status, 404);
  });

  it('streams one token and a finish as NDJSON, with the load report in a header', async () => {
    const res = await post(
      `${up.url}/generate`,
      JSON.stringify({ prompt: 'hello', params: { maxTokens: 1 } }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const load = await (await fetch(`${up.url}/load`)).json();
    assert.deepEqual(JSON.parse(res.headers.get('x-warmgate-load')!), load);
    const lines = (await res.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines, [
      { type: 'token', index: 0, token: 104, text: 'h', logprob: 0, top: [] },
      {
        type: 'finish',
        index: 0,
        reason: 'length',
        text: '',
        promptTokens: 5,
        completionTokens: 1,
        preemptions: 0,
      },
    ]);
    const ids = await post(`${up.url}/generate`, JSON.stringify({ prompt: [1, 2, 3] }));
    assert.match(await ids.text(), /"promptTokens":3/);
    assert.equal((await post(`${up.url}/generate`, '{not json')).status, 400);
  });
});

describe('trivial upstream stop', { timeout: 120_000 }, () => {
  it('is gone after stop (twice is fine)', async () => {
    const up = await startTrivialUpstream();
    assert.equal((await fetch(`${up.url}/live`)).status, 200);
    await up.stop();
    await up.stop();
    await assert.rejects(fetch(`${up.url}/live`));
  });
});
