// Bad input through real HTTP: one table of requests, each with the status, catalog code and (OpenAI
// shape) param it must get. Real instance processes of the tiny generative model and the classifier
// behind an in-process gateway with a 64 KiB body limit; a function-style deployment ('say') with a
// declared input schema and prompt template shares the tiny instance. No row may be answered with a 5xx,
// and afterwards the gateway and both instances must serve normally with nothing left held.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_CATALOG, type ErrorCode } from '../../gateway/errors/index.ts';
import { ADMIN_HEADERS, deployment, type Platform, SCALING, startPlatform } from '../support/platform.ts';
import { eventually, instanceLoad, metricsText } from './observe.ts';

const BODY_LIMIT = 64 * 1024;
const SAY = deployment('say', 'generative', 'tiny', {
  inputSchema: {
    type: 'object',
    required: ['text'],
    properties: { text: { type: 'string', maxLength: 50 } },
    additionalProperties: false,
  },
  promptTemplate: 'Say: {{text}}\n',
});

interface Case {
  readonly name: string;
  /** Default POST. */
  readonly method?: string;
  readonly path: string;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as is (a Uint8Array goes without a Content-Type unless `type` names one). */
  readonly raw?: string | Uint8Array;
  /** Content-Type; default application/json when there is a body. */
  readonly type?: string;
  /** Send the body chunked, with no Content-Length. */
  readonly chunked?: boolean;
  readonly status: number;
  readonly code: ErrorCode;
  /** OpenAI-shape answers: the `param` expected (default null: no single field at fault). */
  readonly param?: string;
  /** What the message must mention (KServe answers have no param, so they name the field here). */
  readonly mentions?: RegExp;
  /** 405 answers: the Allow header. */
  readonly allow?: string;
}

const row = (v = 0.25) => Array<number>(16).fill(v);
const completion = (extra: object = {}) => ({ model: 'tiny', prompt: 'Hello', max_tokens: 4, ...extra });
const chat = (extra: object = {}) => ({
  model: 'tiny',
  messages: [{ role: 'user', content: 'Hello' }],
  max_tokens: 4,
  ...extra,
});
const features = (extra: object = {}, request: object = {}) => ({
  inputs: [{ name: 'features', shape: [1, 16], datatype: 'FP32', data: row(), ...extra }],
  ...request,
});
const spec = (extra: object = {}) => ({
  name: 'fresh',
  kind: 'tensor',
  model: { path: '/models/fresh' },
  scaling: SCALING,
  ...extra,
});
/** Valid JSON that is nothing but brackets (as text: JSON.stringify itself overflows on it). Walked
 * unbounded, it once overflowed the gateway's stack. */
const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
const oversize = (extra: object = {}) => completion({ prompt: 'x'.repeat(BODY_LIMIT + 1), ...extra });

const C = '/v1/completions';
const CHAT = '/v1/chat/completions';
const V2 = '/v2/models/cls/infer';
const ADMIN = '/admin/v1/deployments';

const CASES: readonly Case[] = [
  // The body itself
  { name: 'malformed JSON', path: C, raw: '{"model": "tiny", ', status: 400, code: 'invalid_json' },
  { name: 'empty body', path: C, raw: '', status: 400, code: 'invalid_json' },
  { name: 'text/plain', path: C, raw: '{}', type: 'text/plain', status: 415, code: 'unsupported_media_type' },
  {
    name: 'no Content-Type',
    path: C,
    raw: Buffer.from(JSON.stringify(completion())),
    status: 415,
    code: 'unsupported_media_type',
  },
  { name: 'a JSON array', path: C, json: [], status: 400, code: 'invalid_request', mentions: /body/ },
  { name: 'over the body limit', path: C, json: oversize(), status: 413, code: 'body_too_large' },
  {
    name: 'chunked, over the body limit',
    path: CHAT,
    json: chat({ messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT + 1) }] }),
    chunked: true,
    status: 413,
    code: 'body_too_large',
  },
  // Completions: wrong types, one per field family
  { name: 'model not a string', path: C, json: completion({ model: 7 }), ...bad('model') },
  { name: 'model empty', path: C, json: completion({ model: '' }), ...bad('model') },
  { name: 'prompt missing', path: C, json: { model: 'tiny' }, ...bad('prompt') },
  { name: 'prompt as an array', path: C, json: completion({ prompt: ['a', 'b'] }), ...bad('prompt') },
  { name: 'max_tokens a string', path: C, json: completion({ max_tokens: '4' }), ...bad('max_tokens') },
  { name: 'temperature a string', path: C, json: completion({ temperature: 'hot' }), ...bad('temperature') },
  { name: 'top_p a boolean', path: C, json: completion({ top_p: true }), ...bad('top_p') },
  { name: 'top_k a fraction', path: C, json: completion({ top_k: 2.5 }), ...bad('top_k') },
  { name: 'n a fraction', path: C, json: completion({ n: 1.5 }), ...bad('n') },
  { name: 'stop a number', path: C, json: completion({ stop: 3 }), ...bad('stop') },
  { name: 'seed a fraction', path: C, json: completion({ seed: 0.5 }), ...bad('seed') },
  { name: 'stream a string', path: C, json: completion({ stream: 'yes' }), ...bad('stream') },
  {
    name: 'stream_options.include_usage a string',
    path: C,
    json: completion({ stream: true, stream_options: { include_usage: 'yes' } }),
    ...bad('stream_options.include_usage'),
  },
  { name: 'logprobs a boolean', path: C, json: completion({ logprobs: true }), ...bad('logprobs') },
  { name: 'echo a string', path: C, json: completion({ echo: 'no' }), ...bad('echo') },
  { name: 'user a number', path: C, json: completion({ user: 42 }), ...bad('user') },
  { name: 'an unknown field', path: C, json: completion({ suffix: '!' }), ...bad('suffix') },
  // Completions: values the model refuses
  { name: 'unknown model', path: C, json: completion({ model: 'nope' }), ...notFound() },
  { name: 'a tensor model', path: C, json: completion({ model: 'cls' }), ...notFound() },
  {
    name: 'prompt over the 256-token context',
    path: C,
    json: completion({ prompt: 'x'.repeat(300) }),
    status: 400,
    code: 'context_length_exceeded',
    param: 'max_tokens',
    mentions: /256/,
  },
  { name: 'empty prompt', path: C, json: completion({ prompt: '' }), ...sampling('prompt', 'empty_prompt') },
  { name: 'max_tokens 0', path: C, json: completion({ max_tokens: 0 }), ...sampling('max_tokens') },
  { name: 'max_tokens negative', path: C, json: completion({ max_tokens: -3 }), ...sampling('max_tokens') },
  {
    name: 'max_tokens past the context',
    path: C,
    json: completion({ max_tokens: 1000 }),
    ...sampling('max_tokens'),
  },
  {
    name: 'temperature negative',
    path: C,
    json: completion({ temperature: -0.5 }),
    ...sampling('temperature'),
  },
  { name: 'temperature over 2', path: C, json: completion({ temperature: 2.5 }), ...sampling('temperature') },
  { name: 'top_p 0', path: C, json: completion({ top_p: 0 }), ...sampling('top_p') },
  { name: 'top_p over 1', path: C, json: completion({ top_p: 1.5 }), ...sampling('top_p') },
  { name: 'top_k negative', path: C, json: completion({ top_k: -1 }), ...sampling('top_k') },
  { name: 'n 0', path: C, json: completion({ n: 0 }), ...sampling('n') },
  { name: 'n over the model maximum', path: C, json: completion({ n: 9 }), ...sampling('n') },
  { name: 'logprobs over 20', path: C, json: completion({ logprobs: 21 }), ...sampling('logprobs') },
  { name: 'seed past 2^53', path: C, json: completion({ seed: 2 ** 60 }), ...sampling('seed') },
  {
    name: 'five stop strings',
    path: C,
    json: completion({ stop: ['a', 'b', 'c', 'd', 'e'] }),
    ...sampling('stop'),
  },
  { name: 'a 65-character stop', path: C, json: completion({ stop: 's'.repeat(65) }), ...sampling('stop') },
  { name: 'echo', path: C, json: completion({ echo: true }), ...bad('echo') },
  // Chat
  { name: 'messages missing', path: CHAT, json: { model: 'tiny' }, ...bad('messages') },
  { name: 'messages empty', path: CHAT, json: chat({ messages: [] }), ...bad('messages') },
  {
    name: 'an unknown role',
    path: CHAT,
    json: chat({ messages: [{ role: 'tool', content: 'x' }] }),
    ...bad('messages.0.role'),
  },
  {
    name: 'content a number',
    path: CHAT,
    json: chat({ messages: [{ role: 'user', content: 5 }] }),
    ...bad('messages.0.content'),
  },
  { name: 'logprobs a number', path: CHAT, json: chat({ logprobs: 3 }), ...bad('logprobs') },
  { name: 'tools (unsupported)', path: CHAT, json: chat({ tools: [] }), ...bad('tools') },
  { name: 'unknown model', path: CHAT, json: chat({ model: 'nope' }), ...notFound() },
  {
    name: 'top_logprobs over 20',
    path: CHAT,
    json: chat({ logprobs: true, top_logprobs: 21 }),
    ...sampling('top_logprobs'),
  },
  {
    name: 'max_completion_tokens 0',
    path: CHAT,
    json: chat({ max_tokens: undefined, max_completion_tokens: 0 }),
    ...sampling('max_completion_tokens'),
  },
  {
    name: 'a message over the context',
    path: CHAT,
    json: chat({ messages: [{ role: 'user', content: 'x'.repeat(300) }], max_tokens: undefined }),
    status: 400,
    code: 'context_length_exceeded',
    param: 'max_tokens',
    mentions: /256/,
  },
  // Function-style calls
  { name: 'unknown function', path: '/v1/functions/nope', json: { text: 'x' }, ...notFound() },
  { name: 'schema: text missing', path: '/v1/functions/say', json: {}, ...bad('text') },
  {
    name: 'schema: text too long',
    path: '/v1/functions/say',
    json: { text: 'y'.repeat(51) },
    ...bad('text'),
  },
  {
    name: 'schema: an extra field',
    path: '/v1/functions/say',
    json: { text: 'x', tone: 'loud' },
    ...bad('tone'),
  },
  { name: 'schema: text a number', path: '/v1/functions/say', json: { text: 5 }, ...bad('text') },
  { name: 'schema: not an object', path: '/v1/functions/say', json: ['x'], ...bad(null) },
  {
    name: 'default schema: prompt missing',
    path: '/v1/functions/tiny',
    json: { text: 'x' },
    ...bad('prompt'),
  },
  {
    name: 'max_tokens 0',
    path: '/v1/functions/tiny',
    json: { prompt: 'x', max_tokens: 0 },
    ...sampling('max_tokens'),
  },
  { name: 'tensor: inputs missing', path: '/v1/functions/cls', json: {}, ...bad('inputs') },
  {
    name: 'tensor: ragged rows',
    path: '/v1/functions/cls',
    json: { inputs: { features: [row(), row().slice(1)] } },
    ...tensor('inputs.features'),
  },
  {
    name: 'tensor: 15 columns',
    path: '/v1/functions/cls',
    json: { inputs: { features: [row().slice(1)] } },
    ...tensor('inputs.features'),
  },
  {
    name: 'tensor: an unknown input',
    path: '/v1/functions/cls',
    json: { inputs: { feature: [row()] } },
    ...tensor('inputs.feature'),
  },
  {
    name: 'tensor: strings',
    path: '/v1/functions/cls',
    json: { inputs: { features: [row().map(String)] } },
    ...tensor('inputs.features'),
  },
  {
    name: 'tensor: nested 5000 deep',
    path: '/v1/functions/cls',
    raw: `{"inputs":{"features":${deep(5000)}}}`,
    ...tensor('inputs.features'),
  },
  // KServe v2
  { name: 'unknown model', path: '/v2/models/nope/infer', json: features(), ...notFound(/nope/) },
  { name: 'a generative model', path: '/v2/models/tiny/infer', json: features(), ...notFound(/tiny/) },
  { name: 'unknown model metadata', method: 'GET', path: '/v2/models/nope', ...notFound(/nope/) },
  { name: 'unknown model readiness', method: 'GET', path: '/v2/models/nope/ready', ...notFound(/nope/) },
  { name: 'malformed JSON', path: V2, raw: '{"inputs": [', status: 400, code: 'invalid_json' },
  {
    name: 'text/plain',
    path: V2,
    raw: '{}',
    type: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'over the body limit',
    path: V2,
    json: features({ pad: 'x'.repeat(BODY_LIMIT) }),
    status: 413,
    code: 'body_too_large',
  },
  { name: 'null body', path: V2, json: null, ...kTensor(/inputs/) },
  { name: 'inputs missing', path: V2, json: {}, ...kTensor(/inputs/) },
  { name: 'inputs empty', path: V2, json: { inputs: [] }, ...kTensor(/inputs/) },
  { name: 'an input without a name', path: V2, json: features({ name: undefined }), ...kTensor(/name/) },
  { name: 'an unknown input name', path: V2, json: features({ name: 'feature' }), ...kTensor(/'features'/) },
  {
    name: 'the input twice',
    path: V2,
    json: { inputs: [...features().inputs, ...features().inputs] },
    ...kTensor(/twice/),
  },
  { name: 'datatype INT64', path: V2, json: features({ datatype: 'INT64' }), ...kTensor(/FP32/) },
  { name: 'rank 1', path: V2, json: features({ shape: [16] }), ...kTensor(/2 dimensions/) },
  {
    name: '15 columns',
    path: V2,
    json: features({ shape: [1, 15], data: row().slice(1) }),
    ...kTensor(/dimension 1/),
  },
  { name: 'a negative dimension', path: V2, json: features({ shape: [-1, 16] }), ...kTensor(/shape/) },
  { name: 'no rows', path: V2, json: features({ shape: [0, 16], data: [] }), ...kTensor(/no rows/) },
  {
    name: 'past the max batch size',
    path: V2,
    json: features({ shape: [65, 16], data: Array(65).fill(row()) }),
    ...kTensor(/at most 64/),
  },
  { name: 'too few elements', path: V2, json: features({ shape: [2, 16] }), ...kTensor(/needs 32/) },
  {
    name: 'ragged nested data',
    path: V2,
    json: features({ shape: [2, 16], data: [row(), row().slice(1)] }),
    ...kTensor(/31 values/),
  },
  { name: 'strings in data', path: V2, json: features({ data: row().map(String) }), ...kTensor(/numbers/) },
  { name: 'past the FP32 range', path: V2, json: features({ data: row(1e39) }), ...kTensor(/FP32 range/) },
  {
    name: 'nested 5000 deep',
    path: V2,
    raw: `{"inputs":[{"name":"features","shape":[1,16],"datatype":"FP32","data":${deep(5000)}}]}`,
    ...kTensor(/numbers/),
  },
  {
    name: 'id a number',
    path: V2,
    json: features({}, { id: 5 }),
    status: 400,
    code: 'invalid_request',
    mentions: /'id'/,
  },
  {
    name: 'outputs not an array',
    path: V2,
    json: features({}, { outputs: 'probabilities' }),
    status: 400,
    code: 'invalid_request',
    mentions: /'outputs'/,
  },
  {
    name: 'an unknown output',
    path: V2,
    json: features({}, { outputs: [{ name: 'logits' }] }),
    status: 400,
    code: 'invalid_request',
    mentions: /'logits'.*'probabilities'/,
  },
  // Routes and methods
  { name: 'unknown route', method: 'GET', path: '/v1/engines', status: 404, code: 'route_not_found' },
  {
    name: 'unknown route',
    method: 'GET',
    path: '/v2/repository/index',
    status: 404,
    code: 'route_not_found',
  },
  { name: 'unknown model', method: 'GET', path: '/v1/models/nope', ...notFound() },
  { name: 'wrong method', method: 'GET', path: C, ...wrongMethod('POST') },
  { name: 'wrong method', method: 'DELETE', path: '/v1/models', ...wrongMethod('GET') },
  { name: 'wrong method', method: 'GET', path: '/v1/functions/tiny', ...wrongMethod('POST') },
  { name: 'wrong method', method: 'PUT', path: V2, json: features(), ...wrongMethod('POST') },
  { name: 'wrong method', method: 'POST', path: '/v2/models/cls', json: {}, ...wrongMethod('GET') },
  { name: 'wrong method', method: 'PATCH', path: ADMIN, json: spec(), ...wrongMethod('GET, POST') },
  // Admin API
  { name: 'malformed JSON', path: ADMIN, raw: '{"name":', status: 400, code: 'invalid_json' },
  {
    name: 'text/plain',
    path: ADMIN,
    raw: '{}',
    type: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
  },
  // The admin API names the whole body as param '' (test/gateway/admin/routes.test.ts expects it).
  { name: 'not an object', path: ADMIN, json: 'fresh', ...invalid('') },
  { name: 'model missing', path: ADMIN, json: spec({ model: undefined }), ...invalid('model') },
  { name: 'a bad name', path: ADMIN, json: spec({ name: 'Fresh Model' }), ...invalid('name') },
  { name: 'an unknown kind', path: ADMIN, json: spec({ kind: 'vision' }), ...invalid('kind') },
  {
    name: 'a model url without sha256',
    path: ADMIN,
    json: spec({ model: { url: 'https://x/m' } }),
    ...invalid('model'),
  },
  {
    name: 'minInstances over maxInstances',
    path: ADMIN,
    json: spec({ scaling: { ...SCALING, minInstances: 5, maxInstances: 2 } }),
    ...invalid('scaling.minInstances'),
  },
  {
    name: 'promptTemplate on a tensor model',
    path: ADMIN,
    json: spec({ promptTemplate: 'x' }),
    ...invalid('promptTemplate'),
  },
  {
    name: 'an invalid inputSchema',
    path: ADMIN,
    json: spec({ inputSchema: { type: 'nope' } }),
    ...invalid('inputSchema'),
  },
  { name: 'an unknown field', path: ADMIN, json: spec({ replicas: 3 }), ...invalid('replicas') },
  {
    name: 'a name already taken',
    path: ADMIN,
    json: spec({ name: 'tiny' }),
    status: 409,
    code: 'deployment_exists',
    param: 'name',
  },
  {
    name: 'PUT under another name',
    method: 'PUT',
    path: `${ADMIN}/fresh`,
    json: spec({ name: 'other' }),
    ...invalid('name'),
  },
  {
    name: 'unknown deployment',
    method: 'GET',
    path: `${ADMIN}/nope`,
    status: 404,
    code: 'deployment_not_found',
    mentions: /nope/,
  },
  {
    name: 'delete unknown',
    method: 'DELETE',
    path: `${ADMIN}/nope`,
    status: 404,
    code: 'deployment_not_found',
    mentions: /nope/,
  },
  {
    name: 'over the body limit',
    path: ADMIN,
    json: spec({ promptTemplate: 'x'.repeat(BODY_LIMIT) }),
    status: 413,
    code: 'body_too_large',
  },
];

function bad(param: string | null): Pick<Case, 'status' | 'code' | 'param'> {
  return { status: 400, code: 'invalid_request', ...(param === null ? {} : { param }) };
}
function sampling(
  param: string,
  code: ErrorCode = 'invalid_sampling_params',
): Pick<Case, 'status' | 'code' | 'param'> {
  return { status: 400, code, param };
}
function tensor(param: string): Pick<Case, 'status' | 'code' | 'param'> {
  return { status: 400, code: 'invalid_tensor', param };
}
function kTensor(mentions: RegExp): Pick<Case, 'status' | 'code' | 'mentions'> {
  return { status: 400, code: 'invalid_tensor', mentions };
}
function notFound(mentions?: RegExp): Pick<Case, 'status' | 'code' | 'param' | 'mentions'> {
  return { status: 404, code: 'model_not_found', param: 'model', ...(mentions ? { mentions } : {}) };
}
function invalid(param: string): Pick<Case, 'status' | 'code' | 'param'> {
  return { status: 400, code: 'deployment_invalid', param };
}
function wrongMethod(allow: string): Pick<Case, 'status' | 'code' | 'allow'> {
  return { status: 405, code: 'method_not_allowed', allow };
}

async function send(base: string, c: Case): Promise<Response> {
  const method = c.method ?? 'POST';
  let body: string | Uint8Array | ReadableStream<Uint8Array> | undefined =
    c.raw ?? (c.json === undefined ? undefined : JSON.stringify(c.json));
  const headers: Record<string, string> = {};
  if (c.path.startsWith('/admin/')) Object.assign(headers, ADMIN_HEADERS);
  if (c.type !== undefined) headers['content-type'] = c.type;
  else if (typeof body === 'string') headers['content-type'] = 'application/json';
  if (c.chunked && body !== undefined) {
    const bytes = Buffer.from(body);
    body = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < bytes.length; i += 8192) ctl.enqueue(bytes.subarray(i, i + 8192));
        ctl.close();
      },
    });
  }
  return fetch(`${base}${c.path}`, { method, headers, body, duplex: 'half' } as RequestInit);
}

const postJson = (base: string, path: string, json: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });

describe('bad input through the gateway', { timeout: 60_000 }, () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({
      bodyLimitBytes: BODY_LIMIT,
      deployments: [
        { spec: deployment('tiny', 'generative', 'tiny') },
        { spec: deployment('cls', 'tensor', 'classifier') },
        { spec: SAY, instances: 0 },
      ],
    });
    const tiny = p.instances.find((i) => i.deployment === 'tiny')!;
    await p.gateway.gateway.registry.add('say', tiny.launched.url); // the same model, as a function
  });
  after(async () => {
    await p?.close();
  });

  it('the table is large and expects no 5xx', () => {
    assert.ok(CASES.length >= 40, `${CASES.length} cases`);
    for (const c of CASES) assert.ok(c.status < 500, `${c.path} ${c.name}`);
  });

  for (const c of CASES) {
    it(`${c.method ?? 'POST'} ${c.path}: ${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await send(p.url, c);
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = JSON.parse(text) as Record<string, unknown>;
      let message: string;
      if (c.path.startsWith('/v2/')) {
        // KServe v2: { error: message, code }
        assert.deepEqual(Object.keys(body).sort(), ['code', 'error'], text);
        assert.equal(body.code, c.code);
        message = body.error as string;
      } else {
        // OpenAI (and admin): { error: { message, type, param, code } }
        assert.deepEqual(Object.keys(body), ['error'], text);
        const e = body.error as Record<string, unknown>;
        assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type'], text);
        assert.equal(e.code, c.code);
        assert.equal(e.type, ERROR_CATALOG[c.code].type);
        assert.equal(e.param, c.param ?? null, `param of ${text}`);
        message = e.message as string;
        // The message names the field it blames.
        if (c.param) assert.ok(message.includes(c.param.split('.').at(-1)!), `'${message}' names ${c.param}`);
      }
      assert.equal(typeof message, 'string');
      assert.ok(message.trim().length > 0, 'a message that says what to fix');
      if (c.mentions) assert.match(message, c.mentions);
      if (c.allow !== undefined) assert.equal(res.headers.get('allow'), c.allow);
    });
  }

  it('afterwards the gateway and its instances serve normally, with nothing left held', async () => {
    const completed = await postJson(p.url, C, completion({ temperature: 0 }));
    assert.equal(completed.status, 200);
    const c = (await completed.json()) as {
      choices: { finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    assert.equal(c.choices[0]!.finish_reason, 'length');
    assert.equal(c.usage.completion_tokens, 4);

    const said = await postJson(p.url, '/v1/functions/say', { text: 'hi' });
    assert.equal(said.status, 200, 'a body that fits the schema goes through');
    const s = (await said.json()) as { usage: { prompt_tokens: number } };
    assert.equal(s.usage.prompt_tokens, Buffer.byteLength('Say: hi\n'), 'the template filled from the body');

    const inferred = await postJson(p.url, V2, features());
    assert.equal(inferred.status, 200);
    const out = (await inferred.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] };
    assert.equal(out.outputs[0]!.name, 'probabilities');
    assert.deepEqual(out.outputs[0]!.shape, [1, 3]);
    assert.ok(Math.abs(out.outputs[0]!.data.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'probabilities sum to 1');

    assert.equal((await fetch(`${p.url}/health`)).status, 200);
    for (const i of p.instances) {
      const load = await eventually(
        `instance ${i.deployment} idle`,
        () => instanceLoad(i.launched.url),
        (l) => l.outstanding === 0 && (l.running ?? 0) === 0,
      );
      assert.equal(load.state, 'ready');
      if (i.deployment === 'tiny') {
        assert.equal(load.waiting, 0);
        assert.equal(load.kvFreeBlocks, load.kvTotalBlocks, 'every KV block free or cached');
      }
    }
    for (const inst of p.gateway.gateway.registry.all()) {
      assert.equal(inst.outstanding, 0, `${inst.id}: no request still counted against it`);
    }
    const metrics = await metricsText(p.url);
    const serverErrors = metrics
      .split('\n')
      .filter((l) => l.startsWith('warmgate_gateway_requests_total') && /status="5\d\d"/.test(l));
    assert.deepEqual(serverErrors, [], 'no request was answered with a 5xx');
    for (const model of ['tiny', 'cls', 'say']) {
      assert.equal(p.gateway.gateway.context.gate(model).inFlight, 0, `${model}: no admission slot held`);
      assert.equal(p.gateway.gateway.context.gate(model).queued, 0, `${model}: nothing queued`);
    }
  });
});
