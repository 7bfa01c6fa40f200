// The gateway in front of real instances of imported Hugging Face models (the fixture checkpoints of
// test/fixtures/hf as model folders), each behind a recording proxy that shows what the gateway sent.
// The reference is what transformers computed (golden.json): a chat must reach the instance as the ids
// of the template's rendering, a completion as the ids of its text with the special tokens, and every
// count (usage, prompt_too_long, the default max_tokens) must be in those tokens, not in bytes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { DeploymentSpec } from '../../../gateway/deployments/index.ts';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { launchInstance, type LaunchedInstance } from '../../../runtime/instance/launch.ts';
import { type HfFamily, HF_FIXTURES } from '../../support/hf-golden.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { MODELS, SCALING } from '../../support/platform.ts';
import { type RecordingProxy, startRecordingProxy } from '../../support/recording-proxy.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ChatGolden {
  messages: { role: string; content: string }[];
  add_generation_prompt: boolean;
  rendered?: string;
  ids?: number[];
  error?: string;
}

interface Golden {
  prompts: { text: string; ids: number[] }[];
  chat: ChatGolden[];
  encode: { text: string; ids: number[] }[];
}

const golden = (family: HfFamily) =>
  JSON.parse(readFileSync(join(HF_FIXTURES, family, 'golden', 'golden.json'), 'utf8')) as Golden;

interface Answer {
  status: number;
  text: string;
  json: {
    error?: { code: string; message: string; param: string | null };
    usage?: { prompt_tokens: number; completion_tokens: number };
    choices?: unknown[];
  };
}

async function post(url: string, body: unknown): Promise<Answer> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // a stream
  }
  return { status: res.statusCode, text, json };
}

const MAX_PROMPT_TOKENS = 100;

describe(
  'the gateway counts and renders with each model’s own tokenizer (real instances)',
  { timeout: 240_000 },
  () => {
    const folders: { remove(): Promise<void> }[] = [];
    const instances: LaunchedInstance[] = [];
    const proxies = new Map<string, RecordingProxy>();
    let gw: RunningGateway;
    const llama = golden('llama');

    const spec = (name: string, path: string): DeploymentSpec => ({
      name,
      kind: 'generative',
      model: { path },
      scaling: SCALING,
    });

    before(async () => {
      const families: HfFamily[] = ['llama', 'gpt2', 'mistral', 'qwen2'];
      const made = await Promise.all(families.map((f) => tempHfModelFolder(f)));
      folders.push(...made);
      const dirs = new Map<string, string>(families.map((f, i) => [f, made[i]!.dir]));
      dirs.set('tiny', `${MODELS}tiny`);
      const launched = await Promise.all(
        [...dirs].map(async ([name, dir]) => {
          const l = await launchInstance({
            model: dir,
            kind: 'generative',
            args: ['--intra-op-threads', '1', '--kv-mb', '8'],
          });
          instances.push(l);
          return [name, l] as const;
        }),
      );
      for (const [name, l] of launched) proxies.set(name, await startRecordingProxy(l.url));
      // A second deployment of the llama model, through its own proxy: the same tokenizer id.
      proxies.set('llama-again', await startRecordingProxy(launched.find(([n]) => n === 'llama')![1].url));
      gw = await startGateway({
        port: 0,
        pollIntervalMs: 100,
        inputLimits: { maxPromptTokens: MAX_PROMPT_TOKENS },
        deployments: [
          spec('llama', dirs.get('llama')!),
          spec('llama-again', dirs.get('llama')!),
          spec('gpt2', dirs.get('gpt2')!),
          spec('mistral', dirs.get('mistral')!),
          spec('qwen2', dirs.get('qwen2')!),
          spec('tiny', dirs.get('tiny')!),
        ],
        // qwen2 has no instance yet: it comes up while a request waits (see the cold start below).
        instances: ['llama', 'llama-again', 'gpt2', 'mistral', 'tiny'].map((d) => ({
          deployment: d,
          url: proxies.get(d)!.url,
        })),
      });
    });
    after(async () => {
      await gw?.close();
      await Promise.all([...proxies.values()].map((p) => p.close()));
      await Promise.all(instances.map((i) => i.stop()));
      await Promise.all(folders.map((f) => f.remove()));
    });

    const chat = (model: string, messages: unknown, extra: object = {}) =>
      post(`${gw.url}/v1/chat/completions`, { model, messages, max_tokens: 2, temperature: 0, ...extra });
    const complete = (model: string, prompt: string, extra: object = {}) =>
      post(`${gw.url}/v1/completions`, { model, prompt, max_tokens: 2, temperature: 0, ...extra });
    const lastPrompt = (proxy: string) => proxies.get(proxy)!.generateBodies().at(-1)?.prompt;

    it('concurrent first requests to two deployments of the same files fetch the tokenizer once', async () => {
      const hello = llama.chat[0]!;
      const answers = await Promise.all(
        ['llama', 'llama-again', 'llama', 'llama-again', 'llama', 'llama-again'].map((m) =>
          chat(m, hello.messages),
        ),
      );
      for (const a of answers) {
        assert.equal(a.status, 200, a.text);
        assert.equal(a.json.usage?.prompt_tokens, hello.ids!.length);
      }
      const fetches =
        proxies.get('llama')!.count('/tokenizer') + proxies.get('llama-again')!.count('/tokenizer');
      assert.equal(fetches, 1);
      for (const body of [
        ...proxies.get('llama')!.generateBodies(),
        ...proxies.get('llama-again')!.generateBodies(),
      ]) {
        assert.deepEqual(body.prompt, hello.ids);
      }
    });

    it("a chat reaches the instance as the ids of the template's rendering (transformers' golden)", async () => {
      const hello = llama.chat[0]!;
      assert.equal(hello.rendered, '<s>[INST] Hello, who are you? [/INST]');
      // Streamed, with usage at the end, and the rest of the context as the default max_tokens.
      const res = await post(`${gw.url}/v1/chat/completions`, {
        model: 'llama',
        messages: hello.messages,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      });
      assert.equal(res.status, 200, res.text);
      const chunks = res.text
        .split('\n')
        .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
        .map((l) => JSON.parse(l.slice(6)) as Answer['json']);
      assert.equal(chunks.at(-1)?.usage?.prompt_tokens, hello.ids!.length);
      const sent = proxies.get('llama')!.generateBodies().at(-1)!;
      assert.deepEqual(sent.prompt, hello.ids);
      assert.equal((sent.params as { maxTokens: number }).maxTokens, 512 - hello.ids!.length);
    });

    it('a completion reaches the instance as the ids of its text with the special tokens (BOS)', async () => {
      for (const p of llama.prompts) {
        const a = await complete('llama', p.text);
        assert.equal(a.status, 200, a.text);
        assert.equal(a.json.usage?.prompt_tokens, p.ids.length);
        assert.deepEqual(lastPrompt('llama'), p.ids);
      }
    });

    it('a generative function’s prompt is a completion prompt: the same ids', async () => {
      const p = llama.prompts[1]!;
      const a = await post(`${gw.url}/v1/functions/llama-again`, { prompt: p.text, max_tokens: 1 });
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(lastPrompt('llama-again'), p.ids);
    });

    it('prompt_too_long counts tokens: under the limit in tokens but over it in bytes passes', async () => {
      const cafe = llama.encode.find((e) => e.text.startsWith('Café'))!;
      const ids = [1, ...cafe.ids]; // with BOS
      assert.ok(ids.length <= MAX_PROMPT_TOKENS && Buffer.byteLength(cafe.text) > MAX_PROMPT_TOKENS);
      const ok = await complete('llama', cafe.text);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.usage?.prompt_tokens, ids.length);
      assert.deepEqual(lastPrompt('llama'), ids);

      const sonnet = llama.chat[1]!; // 107 tokens
      assert.ok(sonnet.ids!.length > MAX_PROMPT_TOKENS);
      const sent = proxies.get('llama')!.generateBodies().length;
      const over = await chat('llama', sonnet.messages);
      assert.equal(over.status, 400, over.text);
      assert.equal(over.json.error?.code, 'prompt_too_long');
      assert.equal(over.json.error?.param, 'messages');
      assert.match(
        over.json.error!.message,
        new RegExp(`${sonnet.ids!.length} tokens.*at most ${MAX_PROMPT_TOKENS}`),
      );
      assert.equal(proxies.get('llama')!.generateBodies().length, sent, 'the instance never saw it');
    });

    it('a model without a chat template answers chat 400 chat_template_missing; its completions work', async () => {
      const gpt2 = golden('gpt2');
      const r = await chat('gpt2', [{ role: 'user', content: 'Hello' }]);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error?.code, 'chat_template_missing');
      assert.equal(r.json.error?.param, 'messages');
      assert.equal(proxies.get('gpt2')!.generateBodies().length, 0);
      const c = await complete('gpt2', gpt2.prompts[0]!.text);
      assert.equal(c.status, 200, c.text);
      assert.deepEqual(lastPrompt('gpt2'), gpt2.prompts[0]!.ids);
    });

    it('a failed tokenizer fetch is 503 tokenizer_unavailable, and the next request fetches again', async () => {
      const mistral = golden('mistral');
      const proxy = proxies.get('mistral')!;
      proxy.failNext('/tokenizer', 1);
      const failed = await chat('mistral', mistral.chat[0]!.messages);
      assert.equal(failed.status, 503, failed.text);
      assert.equal(failed.json.error?.code, 'tokenizer_unavailable');
      assert.equal(proxy.generateBodies().length, 0);
      const ok = await chat('mistral', mistral.chat[0]!.messages);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(lastPrompt('mistral'), mistral.chat[0]!.ids);
      assert.equal(proxy.count('/tokenizer'), 2);
    });

    it("a template's raise_exception is 400 chat_template_error with the template's message", async () => {
      const refused = golden('mistral').chat.find((c) => c.error !== undefined)!;
      const r = await chat('mistral', refused.messages);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error?.code, 'chat_template_error');
      assert.equal(r.json.error?.message, refused.error);
      assert.equal(r.json.error?.param, 'messages');
    });

    it('a request to a deployment no instance has reported yet waits for one, then uses its tokenizer', async () => {
      const qwen = golden('qwen2').chat[0]!;
      const pending = chat('qwen2', qwen.messages);
      const gate = gw.gateway.context.gate('qwen2');
      while (gate.queued === 0) await new Promise((r) => setTimeout(r, 10));
      await gw.gateway.registry.add('qwen2', proxies.get('qwen2')!.url);
      const r = await pending;
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.usage?.prompt_tokens, qwen.ids!.length);
      assert.deepEqual(lastPrompt('qwen2'), qwen.ids);
    });

    it("logprobs name each token as it reads in the model's text (SentencePiece spaces kept)", async () => {
      for (const model of ['llama', 'gpt2']) {
        const r = await complete(model, 'To be, or not to be', { max_tokens: 12, logprobs: 2 });
        assert.equal(r.status, 200, r.text);
        const choice = (
          r.json.choices as { text: string; logprobs: { tokens: string[]; top_logprobs: object[] } }[]
        )[0]!;
        assert.equal(choice.logprobs.tokens.length, 12);
        // The engine's streamed text (tested against transformers' decode) is the tokens' texts joined.
        if (!choice.text.includes('\uFFFD'))
          assert.equal(choice.logprobs.tokens.join(''), choice.text, model);
        assert.ok(choice.logprobs.top_logprobs.every((m) => Object.keys(m).length >= 1));
      }
    });

    it('a byte-level model is unchanged: its text goes as text, and no tokenizer is fetched', async () => {
      const r = await chat('tiny', [{ role: 'user', content: 'Hi' }]);
      assert.equal(r.status, 200, r.text);
      assert.equal(lastPrompt('tiny'), 'User:\nHi\n\nAssistant:\n');
      assert.equal(r.json.usage?.prompt_tokens, Buffer.byteLength('User:\nHi\n\nAssistant:\n'));
      const c = await complete('tiny', 'é'.repeat(40));
      assert.equal(c.status, 200, c.text);
      assert.equal(lastPrompt('tiny'), 'é'.repeat(40));
      const over = await complete('tiny', 'é'.repeat(51)); // 102 bytes
      assert.equal(over.json.error?.code, 'prompt_too_long');
      assert.equal(proxies.get('tiny')!.count('/tokenizer'), 0);
    });
  },
);
