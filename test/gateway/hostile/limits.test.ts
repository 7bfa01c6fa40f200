// Configured limits through real HTTP: prompt tokens, max_tokens, n, body size (declared and chunked),
// header size (node's parser answers 431, with a catalog body), and malformed HTTP. The runtime instance
// refuses oversize and hostile input on its own too, and keeps serving.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { DEFAULT_INSTANCE_BODY_LIMIT } from '../../../runtime/instance/app.ts';
import { deployment, type Platform, startPlatform } from '../../support/platform.ts';

const SAY = deployment('say', 'generative', 'tiny', {
  inputSchema: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
  promptTemplate: 'Say: {{text}}\n',
});

interface Answer {
  error?: { code: string; param: string | null; message: string };
  choices?: unknown[];
  usage?: { completion_tokens: number };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Readable ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: Answer = {};
  try {
    json = JSON.parse(text) as Answer;
  } catch {
    // NDJSON from an instance's /generate
  }
  return { status: res.statusCode, text, json };
}

/** One raw HTTP/1.1 exchange: what the server wrote before it closed the connection. */
function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => s.write(bytes));
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('limits', () => {
  let p: Platform;
  let instanceUrl: string;
  before(async () => {
    p = await startPlatform({
      bodyLimitBytes: 4096,
      maxHeaderBytes: 4096,
      inputLimits: { maxPromptTokens: 250, maxTokens: 8, maxN: 2 },
      deployments: [{ spec: deployment('tiny', 'generative', 'tiny') }, { spec: SAY, instances: 0 }],
    });
    instanceUrl = p.instances[0]!.launched.url;
    await p.gateway.gateway.registry.add('say', instanceUrl);
  });
  after(async () => {
    await p?.close();
  });

  const C = () => `${p.url}/v1/completions`;
  /** Every request the instance answered, whatever its status (warmgate_runtime_requests_total). */
  const instanceRequests = async () => {
    const text = await (await request(`${instanceUrl}/metrics`)).body.text();
    const samples = [...text.matchAll(/^warmgate_runtime_requests_total\{[^}]*\} (\S+)$/gm)];
    return samples.reduce((sum, m) => sum + Number(m[1]), 0);
  };

  it('a prompt over the configured tokens: 400 prompt_too_long, counted in bytes (the tokenizer is byte-level)', async () => {
    const over = await post(C(), { model: 'tiny', prompt: 'x'.repeat(251), max_tokens: 1 });
    assert.equal(over.status, 400, over.text);
    assert.equal(over.json.error?.code, 'prompt_too_long');
    assert.equal(over.json.error?.param, 'prompt');
    assert.match(over.json.error?.message, /251 tokens.*at most 250/);
    // 126 characters, 252 bytes.
    const wide = await post(C(), { model: 'tiny', prompt: 'é'.repeat(126), max_tokens: 1 });
    assert.equal(wide.json.error?.code, 'prompt_too_long');
    const chat = await post(`${p.url}/v1/chat/completions`, {
      model: 'tiny',
      messages: [{ role: 'user', content: 'x'.repeat(250) }],
    });
    assert.equal(chat.json.error?.code, 'prompt_too_long');
    assert.equal(chat.json.error?.param, 'messages');
    const fn = await post(`${p.url}/v1/functions/say`, { text: 'x'.repeat(250) });
    assert.equal(fn.status, 400);
    assert.equal(fn.json.error?.code, 'prompt_too_long');
  });

  it("under the configured limit but over the model's context: 400 context_length_exceeded at the gateway", async () => {
    const OVER = { prompt: 'x'.repeat(250), max_tokens: 8 };
    const before = await instanceRequests();
    const r = await post(C(), { model: 'tiny', ...OVER });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error?.code, 'context_length_exceeded');
    assert.match(r.json.error?.message, /256/);
    // The instance answers the same refusal in the same words, so only its count shows who refused.
    assert.equal(await instanceRequests(), before, 'the instance never saw the request');
    const direct = await post(`${instanceUrl}/generate`, { prompt: OVER.prompt, params: { maxTokens: 8 } });
    assert.equal(direct.json.error?.code, 'context_length_exceeded');
    assert.equal(await instanceRequests(), before + 1, 'the instance counts a refusal it answers itself');
  });

  it('max_tokens and n over the configured maxima: 400 naming the field and the limit', async () => {
    const mt = await post(C(), { model: 'tiny', prompt: 'Hi', max_tokens: 9 });
    assert.equal(mt.status, 400);
    assert.equal(mt.json.error?.code, 'invalid_sampling_params');
    assert.equal(mt.json.error?.param, 'max_tokens');
    assert.match(mt.json.error?.message, /between 1 and 8/);
    const mct = await post(C(), { model: 'tiny', prompt: 'Hi', max_completion_tokens: 1e9 });
    assert.equal(mct.json.error?.param, 'max_completion_tokens');
    const n = await post(C(), { model: 'tiny', prompt: 'Hi', max_tokens: 1, n: 3 });
    assert.equal(n.status, 400);
    assert.equal(n.json.error?.param, 'n');
    assert.match(n.json.error?.message, /between 1 and 2/);
    const ok = await post(C(), { model: 'tiny', prompt: 'Hi', max_tokens: 8, n: 2 });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.choices?.length, 2);
  });

  it('the default max_tokens is capped by the configured maximum', async () => {
    const chat = await post(`${p.url}/v1/chat/completions`, {
      model: 'tiny',
      messages: [{ role: 'user', content: 'Hello' }],
      temperature: 0,
    });
    assert.equal(chat.status, 200, chat.text);
    assert.ok(chat.json.usage!.completion_tokens <= 8, chat.text);
  });

  it('bodies over the limit: 413, declared or chunked', async () => {
    const declared = await post(C(), { model: 'tiny', prompt: 'x'.repeat(5000) });
    assert.equal(declared.status, 413);
    assert.equal(declared.json.error?.code, 'body_too_large');
    const chunks = Readable.from(
      (function* () {
        yield Buffer.from('{"model":"tiny","prompt":"');
        for (let i = 0; i < 10; i++) yield Buffer.from('x'.repeat(1000));
        yield Buffer.from('"}');
      })(),
    );
    const chunked = await post(C(), chunks);
    assert.equal(chunked.status, 413);
    assert.equal(chunked.json.error?.code, 'body_too_large');
  });

  it('a body in pieces, declared or chunked, is read whole; a client gone mid-body costs nothing', async () => {
    const body = JSON.stringify({ model: 'tiny', prompt: 'Once upon', max_tokens: 2 });
    const pieces = () =>
      Readable.from(
        (async function* () {
          for (let i = 0; i < body.length; i += 7) {
            yield Buffer.from(body.slice(i, i + 7));
            await new Promise((r) => setTimeout(r, 2)); // separate packets
          }
        })(),
      );
    const chunked = await post(C(), pieces());
    assert.equal(chunked.status, 200, chunked.text);
    assert.equal(chunked.json.usage?.completion_tokens, 2);
    const declared = await post(C(), pieces(), { 'content-length': String(Buffer.byteLength(body)) });
    assert.equal(declared.status, 200, declared.text);

    const refused = async () => {
      const text = await (await request(`${p.url}/metrics`)).body.text();
      const m =
        /warmgate_gateway_requests_total\{model="",route="\/v1\/completions",status="400"\} (\d+)/.exec(text);
      return {
        count: Number(m?.[1] ?? 0),
        failed: /warmgate_gateway_requests_total\{[^}]*status="500"/.test(text),
      };
    };
    const before = await refused();
    const { hostname, port } = new URL(p.url);
    await new Promise<void>((resolve, reject) => {
      const s = connect(Number(port), hostname, () => {
        s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`);
        s.write(`Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`, () => {
          setTimeout(() => s.destroy(), 20);
        });
      });
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    const next = await post(C(), body);
    assert.equal(next.status, 200, next.text);
    assert.equal(p.gateway.gateway.context.gate('tiny').inFlight, 0);
    // Counted as the client's error (incomplete_body, 400), not as a failure of the gateway's.
    assert.deepEqual(await refused(), { count: before.count + 1, failed: false });
  });

  it('headers over maxHeaderBytes: 431 headers_too_large from the parser, with a catalog body', async () => {
    const res = await request(`${p.url}/health`, { headers: { 'x-big': 'b'.repeat(5000) } });
    const body = (await res.body.json()) as { error: { code: string } };
    assert.equal(res.statusCode, 431);
    assert.equal(body.error.code, 'headers_too_large');
    const small = await request(`${p.url}/health`, { headers: { 'x-big': 'b'.repeat(1000) } });
    assert.equal(small.statusCode, 200);
    await small.body.dump();
  });

  it('malformed HTTP: 400 with a catalog body, connection closed', async () => {
    const out = await raw(p.url, 'GARBAGE\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 400 /);
    assert.match(out, /"code":"invalid_request"/);
    const smuggle = await raw(
      p.url,
      'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    assert.match(smuggle, /^HTTP\/1\.1 400 /);
  });

  it('the instance refuses on its own: prompt over the context, oversize and chunked bodies, hostile fields', async () => {
    const gen = `${instanceUrl}/generate`;
    const long = await post(gen, { prompt: 'x'.repeat(300), params: { maxTokens: 4 } });
    assert.equal(long.status, 400);
    assert.equal(long.json.error?.code, 'context_length_exceeded');
    const ids = await post(gen, { prompt: Array(100_000).fill(1), params: { maxTokens: 1 } });
    assert.equal(ids.status, 400);
    // A body over the limit, sent by an ordinary client that is still writing when the answer comes: the
    // instance discards the rest before it closes (a lingering close), so the client reads the 413.
    const huge = await post(gen, { prompt: 'x'.repeat(DEFAULT_INSTANCE_BODY_LIMIT) });
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error?.code, 'body_too_large');
    // A chunked body is read up to the limit; the chunk that crosses it is refused.
    const chunked = await post(
      gen,
      Readable.from(
        (function* () {
          yield '{"prompt":"';
          for (let i = 0; i <= DEFAULT_INSTANCE_BODY_LIMIT / 2 ** 20; i++) yield ' '.repeat(2 ** 20);
          yield '"}';
        })(),
      ),
    );
    assert.equal(chunked.status, 413);
    assert.equal(chunked.json.error?.code, 'body_too_large');
    const proto = await post(gen, '{"prompt":"Hi","params":{"__proto__":{"maxTokens":1e9}}}');
    assert.equal(proto.status, 400);
    const ok = await post(gen, { prompt: 'Hi', params: { maxTokens: 2 } });
    assert.equal(ok.status, 200, ok.text.slice(0, 200));
  });
});
