// The gateway as the official `openai` npm client sees it: real instance processes of the tiny model
// behind an in-process gateway. References are independent of the code under test: UTF-8 byte counts
// for prompt tokens (the model is byte-level), per-token logprob entries for completion tokens, the
// non-streaming answer for the streamed one, the unstopped greedy text for the stopped one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import { counterDelta, eventually, instanceLoad, metricsText, metricValue } from './observe.ts';

const MODEL = 'tiny';
const PROMPT = 'héllo wörld ✓ '; // multibyte on purpose: tokens are bytes, not characters
const CHAT = [{ role: 'user' as const, content: 'hi' }];
/** The gateway's documented chat template for CHAT (gateway/openai/chat-request.ts). */
const CHAT_PROMPT = 'User:\nhi\n\nAssistant:\n';

let p: Platform;
let client: OpenAI;

before(async () => {
  p = await startPlatform({ deployments: [{ spec: deployment(MODEL, 'generative', 'tiny'), instances: 1 }] });
  client = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  await p?.close();
});

/** The first 2-character, single-byte-per-character piece of `text` whose first occurrence is past 0. */
function stopStringIn(text: string): string {
  for (let i = 1; i + 2 <= text.length; i++) {
    const s = text.slice(i, i + 2);
    if ([...s].every((ch) => ch.charCodeAt(0) < 0x80) && text.indexOf(s) === i) return s;
  }
  assert.fail(`the greedy reference ${JSON.stringify(text)} has no usable stop string`);
}

/** Streamed completions text per choice index, with every chunk checked against the stream's id. */
async function collectCompletionStream(stream: AsyncIterable<OpenAI.Completion>) {
  const texts: string[] = [];
  const reasons: (string | null)[] = [];
  const ids = new Set<string>();
  const chunks: OpenAI.Completion[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    ids.add(chunk.id);
    assert.equal(chunk.object, 'text_completion');
    assert.equal(chunk.model, MODEL);
    for (const c of chunk.choices) {
      texts[c.index] = (texts[c.index] ?? '') + c.text;
      if (c.finish_reason) reasons[c.index] = c.finish_reason;
    }
  }
  assert.equal(ids.size, 1, 'every chunk of one stream carries the same id');
  assert.match([...ids][0]!, /^cmpl-/);
  return { texts, reasons, chunks };
}

async function collectChatStream(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>) {
  const texts: string[] = [];
  const reasons: (string | null)[] = [];
  const ids = new Set<string>();
  const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    ids.add(chunk.id);
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, MODEL);
    for (const c of chunk.choices) {
      texts[c.index] = (texts[c.index] ?? '') + (c.delta.content ?? '');
      if (c.finish_reason) reasons[c.index] = c.finish_reason;
    }
  }
  assert.equal(ids.size, 1, 'every chunk of one stream carries the same id');
  assert.match([...ids][0]!, /^chatcmpl-/);
  return { texts, reasons, chunks };
}

describe('the official openai client against the gateway', () => {
  it('lists the deployed model', async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    assert.deepEqual(
      models.map((m) => [m.id, m.object, m.owned_by]),
      [[MODEL, 'model', 'warmgate']],
    );
    assert.ok(Number.isInteger(models[0]!.created) && models[0]!.created > 0);
  });

  it('completions: shape, usage by an independent count, streaming equals non-streaming', async () => {
    const body = { model: MODEL, prompt: PROMPT, max_tokens: 12, temperature: 0 };
    const r = await client.completions.create(body);
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.object, 'text_completion');
    assert.equal(r.model, MODEL);
    assert.ok(Number.isInteger(r.created));
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0]!.index, 0);
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.deepEqual(r.usage, {
      prompt_tokens: Buffer.byteLength(PROMPT),
      completion_tokens: 12,
      total_tokens: Buffer.byteLength(PROMPT) + 12,
    });

    const s = await collectCompletionStream(await client.completions.create({ ...body, stream: true }));
    assert.deepEqual(s.texts, [r.choices[0]!.text]);
    assert.deepEqual(s.reasons, ['length']);
    assert.ok(
      s.chunks.every((c) => c.usage === undefined),
      'no usage field unless stream_options asks for it',
    );
  });

  it("a whole (non-streamed) answer's time per output token is the instance's, not 0", async () => {
    const before = await metricsText(p.url);
    const r = await client.completions.create({
      model: MODEL,
      prompt: PROMPT,
      max_tokens: 12,
      temperature: 0,
    });
    assert.equal(r.usage?.completion_tokens, 12);
    const after = await metricsText(p.url);
    const name = 'warmgate_gateway_time_per_output_token_seconds';
    assert.equal(counterDelta(before, after, `${name}_count`, { model: MODEL }), 1);
    // Every token reached the gateway at once: timed there, each would have taken 0 s.
    assert.ok(counterDelta(before, after, `${name}_sum`, { model: MODEL }) > 0, 'a time per token above 0');
  });

  it('completions stream with include_usage: the last chunk has usage and no choices', async () => {
    const stream = await client.completions.create({
      model: MODEL,
      prompt: PROMPT,
      max_tokens: 5,
      temperature: 0,
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const s = await collectCompletionStream(stream);
    const last = s.chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, {
      prompt_tokens: Buffer.byteLength(PROMPT),
      completion_tokens: 10,
      total_tokens: Buffer.byteLength(PROMPT) + 10,
    });
    assert.ok(
      s.chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1),
      'usage is null on every chunk but the last',
    );
    assert.deepEqual(s.reasons, ['length', 'length']);
  });

  it('chat: shape, usage, streaming equals non-streaming', async () => {
    const body = { model: MODEL, messages: CHAT, max_tokens: 10, temperature: 0 };
    const r = await client.chat.completions.create(body);
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, MODEL);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0]!.index, 0);
    assert.equal(r.choices[0]!.message.role, 'assistant');
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.deepEqual(r.usage, {
      prompt_tokens: Buffer.byteLength(CHAT_PROMPT),
      completion_tokens: 10,
      total_tokens: Buffer.byteLength(CHAT_PROMPT) + 10,
    });

    const stream = await client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    const s = await collectChatStream(stream);
    assert.deepEqual(s.texts, [r.choices[0]!.message.content]);
    assert.deepEqual(s.reasons, ['length']);
    assert.equal(s.chunks[0]!.choices[0]!.delta.role, 'assistant');
    const last = s.chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, r.usage);
  });

  it('n > 1 with a seed: choices differ from each other and repeat across calls', async () => {
    // Samples are compared as token sequences: the model emits stray bytes >= 0x80 that all read as
    // U+FFFD in text, so different samples can share a text.
    const body = {
      model: MODEL,
      prompt: PROMPT,
      max_tokens: 16,
      temperature: 1,
      n: 3,
      seed: 1234,
      logprobs: 1,
    };
    const sampled = (r: OpenAI.Completion) => r.choices.map((c) => c.logprobs!.tokens!.join(' '));
    const a = await client.completions.create(body);
    const b = await client.completions.create(body);
    assert.deepEqual(
      a.choices.map((c) => c.index),
      [0, 1, 2],
    );
    assert.equal(
      new Set(sampled(a)).size,
      3,
      `expected three different samples, got ${JSON.stringify(sampled(a))}`,
    );
    assert.deepEqual(sampled(b), sampled(a));
    assert.deepEqual(
      b.choices.map((c) => c.text),
      a.choices.map((c) => c.text),
    );
    assert.equal(a.usage!.completion_tokens, 3 * 16, 'completion_tokens sums over the choices');

    const chatBody = {
      model: MODEL,
      messages: CHAT,
      max_tokens: 8,
      temperature: 1,
      n: 2,
      seed: 42,
      logprobs: true,
    };
    const chatSampled = (r: OpenAI.Chat.ChatCompletion) =>
      r.choices.map((c) => c.logprobs!.content!.flatMap((t) => t.bytes!).join(' '));
    const c = await client.chat.completions.create(chatBody);
    assert.notEqual(chatSampled(c)[0], chatSampled(c)[1]);
    assert.deepEqual(chatSampled(await client.chat.completions.create(chatBody)), chatSampled(c));
    assert.equal(c.usage!.completion_tokens, 2 * 8);
    const streamed = await collectChatStream(
      await client.chat.completions.create({ ...chatBody, stream: true }),
    );
    assert.deepEqual(
      streamed.texts,
      c.choices.map((x) => x.message.content),
      'the seeded stream reproduces the non-streaming samples',
    );
  });

  it('stop strings: the text ends just before the first occurrence, finish_reason stop', async () => {
    const body = { model: MODEL, prompt: PROMPT, max_tokens: 40, temperature: 0 };
    const reference = (await client.completions.create(body)).choices[0]!.text;
    const stop = stopStringIn(reference);
    const expected = reference.slice(0, reference.indexOf(stop));

    const r = await client.completions.create({ ...body, stop });
    assert.equal(r.choices[0]!.finish_reason, 'stop');
    assert.equal(r.choices[0]!.text, expected);
    assert.ok(!r.choices[0]!.text.includes(stop));

    const s = await collectCompletionStream(
      await client.completions.create({ ...body, stop: [stop, '\u0000never'], stream: true }),
    );
    assert.deepEqual(s.texts, [expected]);
    assert.deepEqual(s.reasons, ['stop']);
    assert.ok(
      s.chunks.every((c) => c.choices.every((x) => !x.text.includes(stop))),
      'no chunk carries the stop string',
    );

    const chatBody = { model: MODEL, messages: CHAT, max_tokens: 40, temperature: 0 };
    const chatReference = (await client.chat.completions.create(chatBody)).choices[0]!.message.content!;
    const chatStop = stopStringIn(chatReference);
    const c = await client.chat.completions.create({ ...chatBody, stop: chatStop });
    assert.equal(c.choices[0]!.finish_reason, 'stop');
    assert.equal(c.choices[0]!.message.content, chatReference.slice(0, chatReference.indexOf(chatStop)));
  });

  it('completions logprobs: one entry per token, two alternatives each, the greedy choice on top', async () => {
    const r = await client.completions.create({
      model: MODEL,
      prompt: PROMPT,
      max_tokens: 8,
      temperature: 0,
      n: 2,
      logprobs: 2,
    });
    let tokens = 0;
    for (const c of r.choices) {
      const lp = c.logprobs!;
      assert.equal(lp.tokens!.length, lp.token_logprobs!.length);
      assert.equal(lp.top_logprobs!.length, lp.tokens!.length);
      assert.equal(lp.text_offset!.length, lp.tokens!.length);
      tokens += lp.tokens!.length;
      for (const [i, chosen] of lp.token_logprobs!.entries()) {
        const top = Object.values(lp.top_logprobs![i]!);
        assert.equal(top.length, 2);
        assert.ok(chosen <= 0, `logprob ${chosen} is a log of a probability`);
        assert.equal(chosen, Math.max(...top), 'greedy picks the most likely token');
      }
    }
    assert.equal(tokens, r.usage!.completion_tokens, 'one logprobs entry per completion token');
  });

  it('chat logprobs: one entry per token, top_logprobs of 2, the bytes spell the content', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: CHAT,
      max_tokens: 8,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0]!.logprobs!.content!;
    assert.equal(content.length, r.usage!.completion_tokens);
    for (const t of content) {
      assert.equal(t.top_logprobs.length, 2);
      assert.ok(t.logprob <= 0);
      assert.ok(
        t.top_logprobs.every((a) => a.logprob <= t.logprob),
        'greedy picks the most likely token',
      );
    }
    const bytes = Buffer.from(content.flatMap((t) => t.bytes!));
    assert.equal(bytes.toString('utf8'), r.choices[0]!.message.content);

    const s = await collectChatStream(
      await client.chat.completions.create({
        model: MODEL,
        messages: CHAT,
        max_tokens: 8,
        temperature: 0,
        logprobs: true,
        top_logprobs: 2,
        stream: true,
      }),
    );
    const streamedEntries = s.chunks.flatMap((c) => c.choices.flatMap((x) => x.logprobs?.content ?? []));
    assert.deepEqual(
      streamedEntries.map((t) => [t.token, t.logprob]),
      content.map((t) => [t.token, t.logprob]),
    );
  });

  it('an abort mid-stream frees the instance: no running request, every KV block free, gateway idle', async () => {
    const instance = p.instances[0]!.launched.url;
    const metricsBefore = await metricsText(instance);
    const maxTokens = 200;
    const ac = new AbortController();
    const stream = await client.completions.create(
      { model: MODEL, prompt: 'abort me ', max_tokens: maxTokens, temperature: 0, stream: true },
      { signal: ac.signal },
    );
    let chunks = 0;
    for await (const chunk of stream) {
      assert.equal(chunk.choices[0]!.finish_reason, null, 'the stream must still be running');
      if (++chunks === 3) {
        ac.abort();
        break;
      }
    }

    const load = await eventually(
      'the instance frees the aborted request (running 0, kvFreeBlocks = kvTotalBlocks)',
      () => instanceLoad(instance),
      (l) => l.running === 0 && l.waiting === 0 && l.outstanding === 0 && l.kvFreeBlocks === l.kvTotalBlocks,
    );
    assert.ok(load.kvTotalBlocks > 0);
    await eventually(
      "the gateway's in-flight gauge returns to 0",
      () => metricsText(p.url),
      (t) => metricValue(t, 'warmgate_gateway_in_flight_requests', { model: MODEL }) === 0,
    );

    // The instance saw the request end because the client left, before it had all its tokens.
    const metricsAfter = await metricsText(instance);
    const delta = (name: string, labels: Record<string, string> = {}, neverIncremented = false) =>
      counterDelta(metricsBefore, metricsAfter, name, labels, { neverIncremented });
    assert.equal(delta('warmgate_runtime_requests_total', { status: 'aborted' }), 1);
    assert.equal(delta('warmgate_runtime_requests_total', { status: 'ok' }, true), 0);
    const generated = delta('warmgate_runtime_tokens_generated_total');
    assert.ok(generated >= 3 && generated < maxTokens, `${generated} tokens generated`);

    const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 3 });
    assert.equal(r.choices[0]!.finish_reason, 'length');
  });
});
