// Generative sessions through the gateway, on real instances of the tiny model: a conversation that sends
// x-warmgate-session stays on one instance turn after turn (its prompt tokens all reach one instance's
// prefix cache), where least-load routing without it rotates turns over idle instances; a bad header is
// refused with a stable code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';

const MODEL = 'chat';
const TURNS = 4;

/** Each instance's prompt tokens looked up in its prefix cache so far. */
async function queried(p: Platform): Promise<number[]> {
  return Promise.all(
    p.instances.map(async (i) => {
      const load = (await (await fetch(`${i.launched.url}/load`)).json()) as { prefixQueryTokens: number };
      return load.prefixQueryTokens;
    }),
  );
}

async function conversation(p: Platform, name: string, headers: Record<string, string>): Promise<number[]> {
  const before = await queried(p);
  let prompt = `${name}: `;
  for (let t = 0; t < TURNS; t++) {
    prompt += `turn ${t} of a conversation that grows. `;
    const res = await fetch(`${p.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: MODEL, prompt, max_tokens: 2, temperature: 0 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.json();
  }
  const afterTurns = await queried(p);
  return afterTurns.map((a, i) => a - before[i]!);
}

describe('generative sessions through the gateway', { timeout: 60_000 }, () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({
      deployments: [{ spec: deployment(MODEL, 'generative', 'tiny'), instances: 2 }],
      routing: 'least-load',
    });
  });
  after(async () => {
    await p?.close();
  });

  it("keeps a conversation's turns on one instance; without a session they rotate", async () => {
    const pinned = await conversation(p, 'with', { 'x-warmgate-session': 'conv-1' });
    assert.equal(pinned.filter((n) => n > 0).length, 1, `prompt tokens per instance ${pinned.join('/')}`);
    const loose = await conversation(p, 'without', {});
    assert.equal(loose.filter((n) => n > 0).length, 2, `prompt tokens per instance ${loose.join('/')}`);
  });

  it('refuses an empty or overlong session id', async () => {
    for (const value of ['', 'x'.repeat(257)]) {
      const res = await fetch(`${p.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-warmgate-session': value },
        body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 1 }),
      });
      const body = (await res.json()) as { error: { code: string; param: string } };
      assert.deepEqual(
        [res.status, body.error.code, body.error.param],
        [400, 'invalid_request', 'x-warmgate-session'],
      );
    }
  });
});
