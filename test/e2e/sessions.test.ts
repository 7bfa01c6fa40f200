// Generative sessions through the gateway, on real instances of the tiny model: a conversation that sends
// x-warmgate-session stays on one instance turn after turn, so each turn's prefill finds the earlier
// turns' KV blocks in that instance's prefix cache and computes only the new tokens; least-load routing
// without it rotates turns over idle instances, and turns that land elsewhere recompute the conversation.
// A bad header is refused with a stable code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';

const MODEL = 'chat';
const TURNS = 4;
/** The engine's KV block (runtime/engine/config.ts): only full blocks are cached. */
const BLOCK = 16;

interface Counters {
  readonly queried: number;
  readonly hit: number;
}

/** Each instance's prefix-cache counters (GET /load): prompt tokens looked up, and found cached. */
async function counters(p: Platform): Promise<Counters[]> {
  return Promise.all(
    p.instances.map(async (i) => {
      const load = (await (await fetch(`${i.launched.url}/load`)).json()) as {
        prefixQueryTokens: number;
        prefixHitTokens: number;
      };
      return { queried: load.prefixQueryTokens, hit: load.prefixHitTokens };
    }),
  );
}

/** One turn as the instances counted it: prompt tokens per instance, and cache hits over all of them. */
interface Turn {
  readonly queriedPerInstance: number[];
  readonly queried: number;
  readonly hit: number;
}

/** TURNS turns, each prompt the previous one plus a sentence; names of one length send equal token counts. */
async function conversation(p: Platform, name: string, headers: Record<string, string>): Promise<Turn[]> {
  const turns: Turn[] = [];
  let prompt = `${name}: `;
  for (let t = 0; t < TURNS; t++) {
    prompt += `turn ${t} of a conversation that grows. `;
    const before = await counters(p);
    const res = await fetch(`${p.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: MODEL, prompt, max_tokens: 2, temperature: 0 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.json();
    const after = await counters(p);
    const queriedPerInstance = after.map((a, i) => a.queried - before[i]!.queried);
    turns.push({
      queriedPerInstance,
      queried: queriedPerInstance.reduce((x, y) => x + y, 0),
      hit: after.reduce((x, a, i) => x + a.hit - before[i]!.hit, 0),
    });
  }
  return turns;
}

const instancesUsed = (turns: Turn[]) =>
  new Set(turns.map((t) => t.queriedPerInstance.findIndex((n) => n > 0))).size;
const sum = (turns: Turn[], f: (t: Turn) => number) => turns.reduce((x, t) => x + f(t), 0);

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

  it("keeps a conversation on one instance, whose cache holds the earlier turns' blocks; without a session turns rotate and recompute", async () => {
    // Names of one length and different first bytes: equal token counts, and no block in common.
    const pinned = await conversation(p, 'A', { 'x-warmgate-session': 'conv-1' });
    const loose = await conversation(p, 'B', {});
    const show = (turns: Turn[]) =>
      turns.map((t) => `${t.queriedPerInstance.join('/')} hit ${t.hit}`).join('; ');

    assert.equal(instancesUsed(pinned), 1, `with a session: ${show(pinned)}`);
    assert.equal(instancesUsed(loose), 2, `without: ${show(loose)}`);
    assert.deepEqual(
      pinned.map((t) => t.queried),
      loose.map((t) => t.queried),
      'the two conversations send the same prompt tokens',
    );
    // With the session, turn t's prefill finds every full block of turn t-1's prompt cached (its text
    // is this prompt's head; the 2 generated tokens are not part of the next prompt) and computes the rest.
    assert.deepEqual(
      pinned.map((t) => t.hit),
      pinned.map((_, t) => (t === 0 ? 0 : Math.floor(pinned[t - 1]!.queried / BLOCK) * BLOCK)),
      `with a session, hits per turn: ${show(pinned)}`,
    );
    for (const [t, turn] of pinned.entries())
      if (t > 0)
        assert.ok(
          turn.queried - turn.hit < turn.queried - pinned[t - 1]!.queried + BLOCK,
          `turn ${t} computed ${turn.queried - turn.hit} of ${turn.queried} tokens: more than its new ones and a block`,
        );
    // Without it, a turn that lands on the other instance finds nothing of the conversation there.
    const pinnedHits = sum(pinned, (t) => t.hit);
    const looseHits = sum(loose, (t) => t.hit);
    assert.ok(looseHits < pinnedHits, `hits without a session ${looseHits}, with ${pinnedHits}`);
    assert.ok(
      sum(loose, (t) => t.queried - t.hit) > sum(pinned, (t) => t.queried - t.hit),
      'without a session more prompt tokens are prefilled',
    );
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
