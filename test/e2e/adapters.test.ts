// LoRA adapters as deployments of their own (kind: adapter) on a base model's instances: real instance
// processes of the imported llama fixture behind an in-process gateway, adapters deployed through the
// admin API. The reference is transformers: each adapter's greedy tokens come from its merged model
// (test/fixtures/hf/llama/adapters/*/golden), decoded with the fixture's tokenizer.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HfTokenizer } from '../../runtime/engine/text/index.ts';
import { readHfGolden } from '../support/hf-golden.ts';
import { tempHfModelFolder } from '../support/hf-model-folder.ts';
import { LORA_SPEC, loraDir, loraGolden, type LoraFixture } from '../support/lora-fixtures.ts';
import { ADMIN_HEADERS, type Platform, SCALING, startPlatform } from '../support/platform.ts';
import { metricsText } from './observe.ts';

const BASE = 'llama';
const ADAPTERS: Record<string, LoraFixture> = { 'llama-qv': 'lora-r4-qv', 'llama-all': 'lora-r8-all' };

interface Answer {
  status: number;
  body: {
    choices?: { text: string }[];
    output?: string;
    data?: { id: string; parent?: string }[];
    error?: { code: string; message: string; param?: string | null };
    usage?: { prompt_tokens: number; completion_tokens: number };
  };
}

describe('LoRA adapters as deployments on a warm base model (real instances)', { timeout: 300_000 }, () => {
  let p: Platform;
  let model: { dir: string; remove(): Promise<void> };
  let scratch: string;
  let tokenizer: HfTokenizer;

  /** An API key that may call every deployment (the gateway requires keys). */
  let key: string;

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    admin = false,
    as = key,
  ): Promise<Answer> => {
    const res = await fetch(`${p.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(admin ? ADMIN_HEADERS : { authorization: `Bearer ${as}` }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Answer['body']) : {} };
  };
  const deployAdapter = (name: string, base: string, path: string) =>
    call('PUT', `/admin/v1/deployments/${name}`, { name, kind: 'adapter', base, model: { path } }, true);
  /** The text the golden's greedy tokens add to its prompt (a token's leading space is kept there). */
  const continuation = (prompt: { ids: readonly number[]; greedy: readonly number[] }) =>
    tokenizer
      .decode([...prompt.ids, ...prompt.greedy], { skipSpecialTokens: true })
      .slice(tokenizer.decode(prompt.ids, { skipSpecialTokens: true }).length);
  /** The greedy completion of `text` under `model`, as many tokens as the golden has. */
  const complete = (name: string, text: string, tokens: number, as = key) =>
    call(
      'POST',
      '/v1/completions',
      { model: name, prompt: text, max_tokens: tokens, temperature: 0 },
      false,
      as,
    );
  const createKey = async (limits: Record<string, number> = {}) =>
    (await call('POST', '/admin/v1/keys', { name: 'adapters', limits }, true)).body as unknown as {
      key: string;
      id: string;
    };

  before(async () => {
    model = await tempHfModelFolder('llama');
    scratch = await mkdtemp(join(tmpdir(), 'wg-e2e-adapters-'));
    tokenizer = await HfTokenizer.fromFolder(model.dir);
    p = await startPlatform({
      apiKeys: 'required',
      deployments: [
        {
          spec: {
            name: BASE,
            kind: 'generative',
            model: { path: model.dir },
            scaling: SCALING,
            runtime: { adapters: { slots: LORA_SPEC.slots - 1, maxRank: LORA_SPEC.maxRank } },
          },
          instances: 2,
          args: [
            '--adapter-slots',
            String(LORA_SPEC.slots - 1),
            '--adapter-max-rank',
            String(LORA_SPEC.maxRank),
          ],
        },
      ],
    });
    key = (await createKey()).key;
    for (const [name, fixture] of Object.entries(ADAPTERS)) {
      const r = await deployAdapter(name, BASE, loraDir(fixture));
      assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
    }
  });

  after(async () => {
    await p?.close();
    await model?.remove();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('lists each adapter in /v1/models with its base as parent', async () => {
    const r = await call('GET', '/v1/models');
    const byId = new Map(r.body.data!.map((m) => [m.id, m]));
    assert.equal(byId.get('llama-qv')?.parent, BASE);
    assert.equal(byId.get('llama-all')?.parent, BASE);
    assert.equal(byId.get(BASE)?.parent, undefined);
    assert.equal((await call('GET', '/v1/models/llama-qv')).body.error, undefined);
  });

  it("answers each adapter with its merged model's greedy tokens, and the base with its own", async () => {
    for (const [name, fixture] of [...Object.entries(ADAPTERS), [BASE, null] as const]) {
      const golden = fixture === null ? readHfGolden('llama') : loraGolden(fixture);
      for (const prompt of golden.prompts.slice(0, 2)) {
        const r = await complete(name, prompt.text, prompt.greedy.length);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.choices![0]!.text, continuation(prompt), `${name}: ${prompt.text}`);
        assert.equal(r.body.usage!.prompt_tokens, prompt.ids.length);
      }
    }
  });

  it('serves adapters and the base mixed in flight at once, each still its own', async () => {
    const jobs = [...Object.entries(ADAPTERS), [BASE, null] as const].flatMap(([name, fixture]) => {
      const golden = fixture === null ? readHfGolden('llama') : loraGolden(fixture);
      return golden.prompts.slice(0, 3).map((prompt) => ({ name, prompt }));
    });
    const answers = await Promise.all(
      jobs.map((j) => complete(j.name, j.prompt.text, j.prompt.greedy.length)),
    );
    for (const [i, j] of jobs.entries()) {
      assert.equal(answers[i]!.status, 200);
      assert.equal(answers[i]!.body.choices![0]!.text, continuation(j.prompt), j.name);
    }
  });

  it('calls an adapter as a function, with its own prompt template', async () => {
    const golden = loraGolden('lora-r4-qv');
    const prompt = golden.prompts[0]!;
    const r0 = await call(
      'PUT',
      '/admin/v1/deployments/llama-qv-fn',
      {
        name: 'llama-qv-fn',
        kind: 'adapter',
        base: BASE,
        model: { path: loraDir('lora-r4-qv') },
        promptTemplate: `${prompt.text.slice(0, 5)}{{rest}}`,
        inputSchema: {
          type: 'object',
          required: ['rest'],
          properties: {
            rest: { type: 'string' },
            max_tokens: { type: 'integer' },
            temperature: { type: 'number' },
          },
        },
      },
      true,
    );
    assert.ok(r0.status < 300, JSON.stringify(r0.body));
    const r = await call('POST', '/v1/functions/llama-qv-fn', {
      rest: prompt.text.slice(5),
      max_tokens: prompt.greedy.length,
      temperature: 0,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, continuation(prompt));
  });

  it("routes an adapter's requests to an instance that holds it", async () => {
    // An adapter of its own, so no earlier test loaded it anywhere.
    assert.ok((await deployAdapter('llama-route', BASE, loraDir('lora-r8-all'))).status < 300);
    const prompt = loraGolden('lora-r8-all').prompts[0]!;
    // One at a time: the instances are equally idle, and without the preference ties rotate between them.
    for (let i = 0; i < 6; i++) assert.equal((await complete('llama-route', prompt.text, 2)).status, 200);
    const holders = await Promise.all(
      p.instances.map(async (i) => {
        const r = (await (await fetch(`${i.launched.url}/adapters`)).json()) as { adapters: string[] };
        return r.adapters.some((id) => id.startsWith('llama-route@'));
      }),
    );
    assert.deepEqual(holders.filter(Boolean).length, 1, `holders: ${JSON.stringify(holders)}`);
  });

  it("records an adapter's requests in its own history and metrics, and apart from its base's", async () => {
    const history = p.gateway.gateway.context.history;
    const arrivals = async (name: string) => {
      await history.flush();
      const now = Date.now();
      const buckets = await history.series(name, now - 3_600_000, now + 60_000, 60_000);
      return buckets.reduce((n, b) => n + b.arrivals, 0);
    };
    const [qv0, base0, all0] = [
      await arrivals('llama-qv'),
      await arrivals(BASE),
      await arrivals('llama-all'),
    ];
    const prompt = loraGolden('lora-r4-qv').prompts[0]!;
    for (let i = 0; i < 3; i++) assert.equal((await complete('llama-qv', prompt.text, 2)).status, 200);
    assert.equal((await arrivals('llama-qv')) - qv0, 3);
    // Not the base's, nor another adapter's: each deployment's history is its own.
    assert.equal((await arrivals(BASE)) - base0, 0);
    assert.equal((await arrivals('llama-all')) - all0, 0);
    const text = await metricsText(p.url);
    const served =
      /warmgate_gateway_requests_total\{model="llama-qv",route="\/v1\/completions",status="200"\} (\d+)/.exec(
        text,
      );
    assert.ok(served && Number(served[1]) >= 3, 'requests are counted under the adapter');
  });

  it("holds an adapter to its own allowedKeys and counts its tokens against the caller's quota", async () => {
    const insider = await createKey();
    const r = await call(
      'PUT',
      '/admin/v1/deployments/llama-private',
      {
        name: 'llama-private',
        kind: 'adapter',
        base: BASE,
        model: { path: loraDir('lora-r4-qv') },
        allowedKeys: [insider.id],
      },
      true,
    );
    assert.ok(r.status < 300, JSON.stringify(r.body));
    const prompt = loraGolden('lora-r4-qv').prompts[0]!;
    const outsider = await complete('llama-private', prompt.text, 2);
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.error!.code, 'model_forbidden');
    assert.equal((await complete(BASE, prompt.text, 2)).status, 200, 'the base is open to every key');
    assert.ok(!(await call('GET', '/v1/models')).body.data!.some((m) => m.id === 'llama-private'));
    const inside = await complete('llama-private', prompt.text, prompt.greedy.length, insider.key);
    assert.equal(inside.status, 200);
    assert.equal(inside.body.choices![0]!.text, continuation(prompt));

    // A quota of one call's tokens: the first adapter call spends it, the next is refused.
    const used = inside.body.usage!.prompt_tokens + inside.body.usage!.completion_tokens;
    const metered = await createKey({ tokensPerDay: used });
    assert.equal((await complete('llama-qv', prompt.text, prompt.greedy.length, metered.key)).status, 200);
    const over = await complete('llama-qv', prompt.text, prompt.greedy.length, metered.key);
    assert.equal(over.status, 429);
    assert.equal(over.body.error!.code, 'token_quota_exceeded');
  });

  it('refuses a bad adapter deployment with a clear error, and a bad adapter folder at its first call', async () => {
    const noBase = await deployAdapter('orphan', 'nope', loraDir('lora-r4-qv'));
    assert.equal(noBase.status, 400);
    assert.equal(noBase.body.error!.code, 'deployment_invalid');
    assert.match(noBase.body.error!.message, /base 'nope' is not deployed/);

    const deleteBase = await call('DELETE', `/admin/v1/deployments/${BASE}`, undefined, true);
    assert.equal(deleteBase.status, 409);
    assert.equal(deleteBase.body.error!.code, 'deployment_in_use');

    // A folder whose weights are cut short: refused when an instance loads it, before any token.
    const broken = join(scratch, 'broken');
    await cp(loraDir('lora-r4-qv'), broken, { recursive: true });
    await writeFile(join(broken, 'adapter_model.safetensors'), Buffer.alloc(10));
    assert.ok((await deployAdapter('broken', BASE, broken)).status < 300);
    const r = await complete('broken', 'To be', 2);
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error!.code, 'adapter_file_corrupt');
    // And nothing else is lost: the good adapter still answers.
    const prompt = loraGolden('lora-r4-qv').prompts[0]!;
    const ok = await complete('llama-qv', prompt.text, prompt.greedy.length);
    assert.equal(ok.body.choices![0]!.text, continuation(prompt));
  });
});
