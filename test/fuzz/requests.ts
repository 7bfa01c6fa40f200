// Generators of malformed and hostile requests for every public route of the gateway. Each generated
// request is plain data (method, path, headers, body), so a failing one can be printed and replayed.
import fc from 'fast-check';

export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Sent as is; a string is UTF-8. Undefined: no body. */
  readonly body?: string | Uint8Array;
  /** Send the body chunked, without a Content-Length. */
  readonly chunked?: boolean;
}

/** The deployments the fuzzed gateway serves (see the test): generative, tensor, a templated function. */
export const MODELS = ['tiny', 'cls', 'say'] as const;

const LONE_SURROGATES = ['\uD800', '\uDFFF', 'a\uDBFFb'];

/** Strings a parser or a template might choke on. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom(
    '',
    ' ',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e309',
    '0x10',
    'null',
    'undefined',
    'true',
    '__proto__',
    'constructor',
    'prototype',
    '{{text}}',
    '{{ __proto__ }}',
    '../x',
    '../../etc/passwd',
    'http://evil.invalid/',
    '//evil.invalid',
    '%2e%2e%2f',
    '\u0000',
    '\r\nX-Injected: 1',
    '\u202e\u200b\ufeff',
    ...LONE_SURROGATES,
  ),
);

/** Numbers at and past every edge (NaN and ±Infinity become null in JSON). */
const nastyNumber = fc.oneof(
  fc.integer({ min: -3, max: 8 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1e-320,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
  ),
);

/** Any JSON value, including the awkward ones. */
const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyNumber,
    nastyString,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor')), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

/** A JSON text nested `levels` deep (as text: JSON.stringify overflows on it). */
const deepText = fc
  .tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('[', '{"a":'))
  .map(([levels, open]) => {
    const close = open === '[' ? ']' : '}';
    return `${open.repeat(levels)}1${close.repeat(levels)}`;
  });

/** An object whose keys come from `fields`, each either a plausible value or a hostile one. */
function hostileObject(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(fields);
  return fc
    .tuple(
      fc.record(
        Object.fromEntries(keys.map((k) => [k, fc.oneof({ weight: 3, arbitrary: fields[k]! }, nastyValue)])),
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor', 'url')), nastyValue, {
        maxKeys: 2,
      }),
      fc.boolean(),
    )
    .map(([known, extra, withExtra]) => {
      const o: Record<string, unknown> = { ...known };
      // Own '__proto__' keys (as JSON.parse makes them), not a prototype change.
      if (withExtra)
        for (const [k, v] of Object.entries(extra))
          Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    });
}

const model = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...MODELS) },
  { weight: 1, arbitrary: nastyString },
);
/** Generation lengths kept small: a valid-looking request really generates. */
const maxTokens = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: nastyNumber },
);
const smallPrompt = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: nastyString },
);

const sampling = {
  max_tokens: maxTokens,
  temperature: fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), nastyNumber),
  top_p: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), nastyNumber),
  top_k: fc.integer({ min: -1, max: 300 }),
  n: fc.integer({ min: -1, max: 3 }),
  seed: nastyNumber,
  stop: fc.oneof(nastyString, fc.array(nastyString, { maxLength: 6 })),
  stream: fc.boolean(),
  stream_options: fc.record({ include_usage: fc.boolean() }, { requiredKeys: [] }),
  logprobs: fc.oneof(fc.integer({ min: -1, max: 30 }), fc.boolean()),
};

const completionBody = hostileObject({ model, prompt: smallPrompt, ...sampling, echo: fc.boolean() });

const message = hostileObject({
  role: fc.oneof(fc.constantFrom('system', 'user', 'assistant'), nastyString),
  content: fc.oneof(
    smallPrompt,
    fc.array(hostileObject({ type: fc.constant('text'), text: smallPrompt }), { maxLength: 3 }),
  ),
});
const chatBody = hostileObject({
  model,
  messages: fc.oneof(
    { weight: 4, arbitrary: fc.array(message, { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: nastyValue },
  ),
  ...sampling,
  top_logprobs: fc.integer({ min: -1, max: 30 }),
  max_completion_tokens: maxTokens,
});

const DATATYPES = ['FP32', 'FP16', 'INT64', 'BYTES', 'BOOL', 'fp32', ''];
const dims = fc.array(fc.oneof(fc.integer({ min: -2, max: 20 }), nastyNumber), { maxLength: 4 });
const tensorData = fc.oneof(
  fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 40 }),
  fc.array(fc.array(fc.float({ noNaN: true }), { minLength: 16, maxLength: 16 }), {
    minLength: 1,
    maxLength: 3,
  }),
  nastyValue,
);
const tensor = hostileObject({
  name: fc.oneof(fc.constant('features'), nastyString),
  shape: fc.oneof(fc.constant([1, 16]), fc.constant([2, 16]), dims),
  datatype: fc.constantFrom(...DATATYPES),
  data: tensorData,
});
const inferBody = hostileObject({
  id: fc.oneof(fc.string({ maxLength: 8 }), nastyValue),
  inputs: fc.oneof(
    { weight: 4, arbitrary: fc.array(tensor, { maxLength: 3 }) },
    { weight: 1, arbitrary: nastyValue },
  ),
  outputs: fc.oneof(fc.constant([{ name: 'probabilities' }]), nastyValue),
});

const functionBody = fc.oneof(
  hostileObject({ prompt: smallPrompt, text: smallPrompt, ...sampling }),
  hostileObject({
    inputs: fc.oneof(
      fc.record({ features: tensorData }),
      fc.dictionary(nastyString, tensorData, { maxKeys: 2 }),
      nastyValue,
    ),
  }),
);

/** Bodies that are not the JSON the route wants: broken, truncated, deep, empty, binary. */
const brokenBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  nastyString,
  deepText,
  fc.constantFrom(
    '',
    '{',
    '{"model":',
    '[',
    'null',
    '0',
    '"x"',
    '{"a":1}}',
    '\ufeff{}',
    '{"__proto__":{"x":1}}',
  ),
  completionBody.map((o) => JSON.stringify(o).slice(0, -1)),
  fc.uint8Array({ maxLength: 64 }),
);

/** A path segment; a lone surrogate (which encodeURIComponent refuses) goes as its raw UTF-8 bytes. */
function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

const encodedName = fc.oneof(
  fc.constantFrom(...MODELS),
  nastyString.filter((s) => s.length > 0).map(encodeSegment),
  fc.constantFrom('..', '%2e%2e', '%2F', 'tiny%00', 'a'.repeat(300)),
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  '',
];

/**
 * Header names and values undici will send (tokens; visible ASCII values). Upgrade and Expect, which
 * undici refuses to send, are sent over raw sockets in test/gateway/hostile/hop-by-hop.test.ts.
 */
const headerName = fc
  .string({ unit: 'binary-ascii', minLength: 1, maxLength: 12 })
  .filter((s) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s));
const headerValue = fc
  .string({ unit: 'binary-ascii', maxLength: 40 })
  .filter((s) => /^[\x20-\x7e]*$/.test(s.trim()) && s === s.trim());

const oddHeaders: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    fc.dictionary(headerName, headerValue, { maxKeys: 3 }),
    fc.subarray([
      ['x-forwarded-host', 'evil.invalid'],
      ['x-forwarded-for', '10.0.0.1, 127.0.0.1'],
      ['forwarded', 'for=1.2.3.4;host=evil.invalid'],
      ['authorization', 'Bearer sk-fuzz'],
      ['api-key', 'sk-fuzz'],
      ['traceparent', 'garbage'],
      ['traceparent', '00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-ff'],
      ['accept', 'text/event-stream'],
      ['accept-encoding', 'gzip, br'],
      ['connection', 'x-drop-me, keep-alive'],
      ['x-drop-me', '1'],
      ['te', 'trailers'],
      ['proxy-authorization', 'Basic Zm9vOmJhcg=='],
      ['x-huge', 'h'.repeat(20_000)],
    ] as [string, string][]),
  )
  .map(([random, picked]) => {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(random)) {
      // Names undici or node treat specially are covered by the picked list; random ones stay plain.
      if (
        !/^(content-length|transfer-encoding|host|connection|upgrade|expect|keep-alive|te|trailer)$/i.test(k)
      ) {
        h[`x-f-${k}`] = v;
      }
    }
    for (const [k, v] of picked) h[k] = v;
    return h;
  });

const withBody = (
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<unknown>,
  method: fc.Arbitrary<string> = fc.constant('POST'),
): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      method,
      path,
      body: fc.oneof(
        { weight: 5, arbitrary: body.map((b) => JSON.stringify(b)) },
        { weight: 1, arbitrary: brokenBody },
      ),
      type: fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      headers: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: oddHeaders }),
      chunked: fc.boolean(),
    })
    .map(({ method, path, body, type, headers, chunked }) => ({
      method,
      path,
      headers: { ...headers, ...(type ? { 'content-type': type } : {}) },
      body,
      chunked,
    }));

const bodiless = (method: fc.Arbitrary<string>, path: fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      method,
      path,
      headers: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: oddHeaders }),
    })
    .map((r) => ({ ...r }));

const ANY_METHOD = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');

const unknownPath = fc.oneof(
  fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
  fc.constantFrom(
    '/v1',
    '/v1/',
    '/v1/engines',
    '/v1/completions/',
    '/v1//completions',
    '/v2/models',
    '/v2/models/cls/infer/x',
    '/v3',
    '/admin',
    '/.env',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/v1/functions',
    '/metrics/x',
  ),
);

/** Deep values inside an otherwise plain body: templates, schemas and tensor walks meet them. */
const deepField = fc
  .tuple(fc.integer({ min: 10_000, max: 100_000 }), fc.constantFrom('text', 'prompt', 'inputs', 'messages'))
  .map(([levels, key]) => `{"${key}":${'['.repeat(levels)}${']'.repeat(levels)}}`);

/** Every public route, in proportion: the generation routes and tensor inference most. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 6, arbitrary: withBody(fc.constant('/v1/completions'), completionBody) },
  { weight: 6, arbitrary: withBody(fc.constant('/v1/chat/completions'), chatBody) },
  {
    weight: 5,
    arbitrary: withBody(
      encodedName.map((m) => `/v2/models/${m}/infer`),
      inferBody,
    ),
  },
  {
    weight: 4,
    arbitrary: withBody(
      encodedName.map((m) => `/v1/functions/${m}`),
      functionBody,
    ),
  },
  { weight: 1, arbitrary: bodiless(fc.constant('GET'), fc.constant('/v1/models')) },
  {
    weight: 1,
    arbitrary: bodiless(
      fc.constant('GET'),
      encodedName.map((m) => `/v1/models/${m}`),
    ),
  },
  {
    weight: 1,
    arbitrary: bodiless(
      fc.constant('GET'),
      fc.oneof(
        fc.constantFrom('/v2/health/live', '/v2/health/ready', '/health', '/metrics'),
        encodedName.map((m) => `/v2/models/${m}`),
        encodedName.map((m) => `/v2/models/${m}/ready`),
      ),
    ),
  },
  // Wrong methods on known paths, and anything on unknown ones.
  {
    weight: 2,
    arbitrary: withBody(
      fc.constantFrom(
        '/v1/completions',
        '/v1/chat/completions',
        '/v1/models',
        '/v2/models/cls/infer',
        '/v1/functions/tiny',
        '/metrics',
        '/health',
      ),
      nastyValue,
      fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH'),
    ),
  },
  { weight: 2, arbitrary: bodiless(ANY_METHOD, unknownPath) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        path: fc.constantFrom(
          '/v1/functions/say',
          '/v1/functions/tiny',
          '/v1/functions/cls',
          '/v1/completions',
          '/v1/chat/completions',
          '/v2/models/cls/infer',
        ),
        body: deepField,
      })
      .map(({ path, body }) => ({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        body,
      })),
  },
);

/** Bodies for an instance's internal /generate, as the gateway would send them, and hostile ones. */
export const instanceGenerateBody: fc.Arbitrary<string> = hostileObject({
  prompt: fc.oneof(
    smallPrompt,
    fc.array(fc.oneof(fc.integer({ min: -2, max: 300 }), nastyNumber), { maxLength: 20 }),
  ),
  params: hostileObject({
    maxTokens: maxTokens,
    temperature: sampling.temperature,
    topP: sampling.top_p,
    topK: sampling.top_k,
    n: sampling.n,
    stop: sampling.stop,
    seed: sampling.seed,
    logprobs: fc.integer({ min: -1, max: 30 }),
    ignoreEos: fc.boolean(),
  }),
  priority: fc.oneof(fc.constantFrom(0, 1), nastyValue),
}).map((o) => JSON.stringify(o));

/** Bodies for an instance's internal /infer. */
export const instanceInferBody: fc.Arbitrary<string> = hostileObject({
  inputs: fc.oneof(
    { weight: 4, arbitrary: fc.array(tensor, { maxLength: 3 }) },
    { weight: 1, arbitrary: nastyValue },
  ),
}).map((o) => JSON.stringify(o));
