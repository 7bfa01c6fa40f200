// A pipeline whose step calls a LoRA adapter, end to end: real instance processes of the imported llama
// fixture serving adapters, the adapter (kind: adapter, a PEFT folder) and the pipeline deployed through
// the admin API. The pipeline's answer equals the adapter called directly with the same prompt at
// temperature 0, which is the adapter's own (its merged model's greedy tokens, from transformers) and
// not the base model's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HfTokenizer } from '../../runtime/engine/text/index.ts';
import { tempHfModelFolder } from '../support/hf-model-folder.ts';
import { LORA_SPEC, loraDir, loraGolden } from '../support/lora-fixtures.ts';
import { ADMIN_HEADERS, type Platform, SCALING, startPlatform } from '../support/platform.ts';

const BASE = 'llama';
const ADAPTER = 'llama-qv';

interface Answer {
  status: number;
  body: Record<string, unknown> & { output?: string; error?: { message: string } };
}

describe('a pipeline step that calls a LoRA adapter (real instances)', { timeout: 180_000 }, () => {
  let p: Platform;
  let model: { dir: string; remove(): Promise<void> };
  let tokenizer: HfTokenizer;
  const call = async (method: string, path: string, body: unknown, admin = false): Promise<Answer> => {
    const res = await fetch(`${p.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(admin ? ADMIN_HEADERS : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  const deploy = async (spec: Record<string, unknown>) => {
    const r = await call('PUT', `/admin/v1/deployments/${String(spec.name)}`, spec, true);
    assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  };
  /** The text a golden's greedy tokens add to its prompt. */
  const continuation = (prompt: { ids: readonly number[]; greedy: readonly number[] }) =>
    tokenizer
      .decode([...prompt.ids, ...prompt.greedy], { skipSpecialTokens: true })
      .slice(tokenizer.decode(prompt.ids, { skipSpecialTokens: true }).length);

  before(async () => {
    model = await tempHfModelFolder('llama');
    tokenizer = await HfTokenizer.fromFolder(model.dir);
    const slots = LORA_SPEC.slots - 1;
    p = await startPlatform({
      deployments: [
        {
          spec: {
            name: BASE,
            kind: 'generative',
            model: { path: model.dir },
            scaling: SCALING,
            runtime: { adapters: { slots, maxRank: LORA_SPEC.maxRank } },
          },
          args: ['--adapter-slots', String(slots), '--adapter-max-rank', String(LORA_SPEC.maxRank)],
        },
      ],
    });
    await deploy({ name: ADAPTER, kind: 'adapter', base: BASE, model: { path: loraDir('lora-r4-qv') } });
    await deploy({
      name: 'tuned-line',
      kind: 'pipeline',
      inputSchema: {
        type: 'object',
        required: ['text', 'tokens'],
        additionalProperties: false,
        properties: { text: { type: 'string' }, tokens: { type: 'integer' } },
      },
      steps: {
        line: {
          deployment: ADAPTER,
          inputs: { max_tokens: '$.request.tokens', temperature: 0 },
          prompt: '{{ $.request.text }}',
        },
      },
    });
  });
  after(async () => {
    await p?.close();
    await model?.remove();
  });

  it("answers as the adapter called directly: the adapter's greedy text, not the base's", async () => {
    for (const prompt of loraGolden('lora-r4-qv').prompts.slice(0, 2)) {
      const tokens = prompt.greedy.length;
      const piped = await call('POST', '/v1/functions/tuned-line', { text: prompt.text, tokens });
      assert.equal(piped.status, 200, JSON.stringify(piped.body));
      const direct = await call('POST', `/v1/functions/${ADAPTER}`, {
        prompt: prompt.text,
        max_tokens: tokens,
        temperature: 0,
      });
      assert.equal(direct.status, 200, JSON.stringify(direct.body));
      assert.deepEqual(piped.body, direct.body);
      assert.equal(piped.body.output, continuation(prompt), 'the adapter merged into the base, greedy');
      const byBase = await call('POST', `/v1/functions/${BASE}`, {
        prompt: prompt.text,
        max_tokens: tokens,
        temperature: 0,
      });
      assert.equal(byBase.status, 200, JSON.stringify(byBase.body));
      // Else this test could not tell the adapter from the base.
      assert.notEqual(piped.body.output, byBase.body.output, 'the step ran the adapter, not the base');
    }
  });
});
