// Prompts, completions and credentials stay out of logs, spans and /metrics unless the operator turns
// content recording on. A gateway requiring API keys (kept in a real redis-server) and a real tiny-model
// runtime instance run in this process, both tracing into one in-memory exporter, with everything
// written to stdout and stderr captured while requests that carry secrets go through: answered,
// streamed, refused, malformed, one that fails inside the instance (an injected tokenizer fault: the
// instance logs it), and, with Redis stopped, a known key served from the cache and an unknown one
// refused (the gateway logs both). The logs must hold those lines, and no secret. Then the same with
// recordContent: the prompt and completion appear on the gateway's span; credentials still never do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerType } from '@hono/node-server';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { newApiKey } from '../../../gateway/auth/index.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { createTelemetry, type Telemetry } from '../../../runtime/telemetry/index.ts';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { deployment, MODELS } from '../../support/platform.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';
import { listen } from '../../runtime/instance/helpers.ts';

const PROMPT_SECRET = 'PZQX-prompt-7731';
const KEY_SECRET = 'sk-KQVZ-credential-9904';
/** A prompt holding this fails in the instance's tokenizer (the injected fault). */
const FAULT = 'FAULT-3316';
const ADMIN_TOKEN = 'redaction-admin-token';
/** A well-formed key no store knows: looked up, so refused with 503 while Redis is away. */
const UNKNOWN_KEY = newApiKey().key;
const CREDENTIAL_HEADERS = {
  'api-key': KEY_SECRET,
  'x-api-key': KEY_SECRET,
  cookie: `session=${KEY_SECRET}`,
  'proxy-authorization': `Basic ${KEY_SECRET}`,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};

/** Everything this process writes to stdout and stderr while `f` runs (still passed through). */
async function captured(f: () => Promise<void>): Promise<string> {
  const out: string[] = [];
  const originals = [process.stdout.write, process.stderr.write] as const;
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return original(chunk, ...rest);
    }) as typeof stream.write;
  }
  try {
    await f();
  } finally {
    [process.stdout.write, process.stderr.write] = originals;
  }
  return out.join('');
}

/** Every string a span carries: name, attributes, events and their attributes, status message. */
function spanText(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(
    spans.map((s) => [s.name, s.attributes, s.events.map((e) => [e.name, e.attributes]), s.status]),
  );
}

describe('redaction', { timeout: 60_000 }, () => {
  const spans = new InMemorySpanExporter();
  const runtimeTelemetry = createTelemetry({ serviceName: 'warmgate-runtime', spanExporter: spans });
  const inst = new RuntimeInstance({
    modelDir: `${MODELS}tiny`,
    kind: 'generative',
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
    drainTimeoutMs: 5000,
    telemetry: runtimeTelemetry,
  });
  let server: ServerType;
  let instanceUrl = '';
  let redis: RedisServer;
  const gateways: { gw: RunningGateway; telemetry: Telemetry }[] = [];

  /** A gateway requiring keys, and a key created on it (its secret is a credential to keep out). */
  const gateway = async (recordContent: boolean) => {
    const telemetry = createTelemetry({ serviceName: 'warmgate-gateway', spanExporter: spans });
    const gw = await startGateway({
      port: 0,
      telemetry,
      recordContent,
      redisUrl: redis.url,
      apiKeys: 'required',
      adminToken: ADMIN_TOKEN,
      // The request that fails in the instance waits this long for another before its 503.
      limits: { queueTimeoutMs: 2000 },
      pollIntervalMs: 100,
      deployments: [deployment('tiny', 'generative', 'tiny')],
      instances: [{ deployment: 'tiny', url: instanceUrl }],
    });
    gateways.push({ gw, telemetry });
    const created = await request(`${gw.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'redaction' }),
    });
    assert.equal(created.statusCode, 201);
    const { key } = (await created.body.json()) as { key: string };
    return { url: gw.url, key };
  };

  before(async () => {
    redis = await startRedisServer();
    ({ url: instanceUrl, server } = await listen(inst));
    await inst.start();
    // Injected fault (no real input makes the tokenizer throw): an unexpected error inside the instance,
    // which its error handler logs and answers 500.
    const encode = inst.tokenizer.encode.bind(inst.tokenizer);
    inst.tokenizer.encode = (text: string) => {
      if (text.includes(FAULT)) throw new Error('tokenizer fault');
      return encode(text);
    };
  });
  after(async () => {
    for (const g of gateways) {
      await g.gw.close();
      await g.telemetry.shutdown();
    }
    server?.close();
    await inst.stop();
    await runtimeTelemetry.shutdown();
    await redis?.stop();
  });

  /**
   * Requests that carry the secrets, with `key` as the bearer: answered, streamed, refused at the gateway,
   * malformed, failing in the instance; then with Redis stopped, the same key (served from the cache,
   * its limit failing open) and an unknown one (refused). Returns a completion the instance generated.
   */
  const traffic = async (url: string, key: string) => {
    const send = async (path: string, body: string, bearer = key) => {
      const res = await request(`${url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...CREDENTIAL_HEADERS,
          authorization: `Bearer ${bearer}`,
        },
        body,
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    const statuses: number[] = [];
    const json = (o: object) => JSON.stringify(o);
    const answered = await send(
      '/v1/completions',
      json({ model: 'tiny', prompt: `Say ${PROMPT_SECRET}`, max_tokens: 8 }),
    );
    statuses.push(answered.status);
    for (const [path, body] of [
      [
        '/v1/chat/completions',
        json({
          model: 'tiny',
          messages: [{ role: 'user', content: PROMPT_SECRET }],
          max_tokens: 3,
          stream: true,
        }),
      ],
      ['/v1/functions/tiny', json({ prompt: PROMPT_SECRET, max_tokens: 2 })],
      ['/v1/completions', json({ model: 'tiny', prompt: PROMPT_SECRET.repeat(40), max_tokens: 4 })],
      ['/v1/completions', json({ model: 'tiny', prompt: PROMPT_SECRET, max_tokens: -1 })],
      ['/v1/completions', `{"model":"tiny","prompt":"${PROMPT_SECRET}`],
      ['/v1/completions', json({ model: PROMPT_SECRET, prompt: PROMPT_SECRET })],
      ['/v1/completions', json({ model: 'tiny', prompt: `${FAULT} ${PROMPT_SECRET}`, max_tokens: 2 })],
    ] as const) {
      statuses.push((await send(path, body)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 400, 400, 400, 404, 503]);

    await redis.stop();
    try {
      const body = json({ model: 'tiny', prompt: PROMPT_SECRET, max_tokens: 2 });
      assert.equal((await send('/v1/completions', body)).status, 200, 'a known key, from the cache');
      assert.equal((await send('/v1/completions', body, UNKNOWN_KEY)).status, 503, 'a key it cannot check');
    } finally {
      await redis.restart();
    }
    await runtimeTelemetry.flush();
    for (const g of gateways) await g.telemetry.flush();
    const completion = (JSON.parse(answered.text) as { choices: { text: string }[] }).choices[0]!.text;
    assert.ok(completion.length >= 4, `a completion to look for: ${JSON.stringify(completion)}`);
    return completion;
  };

  /** The Prometheus text of the gateway at `url` and of the instance. */
  const metricsText = async (url: string) =>
    (
      await Promise.all([url, instanceUrl].map(async (u) => (await request(`${u}/metrics`)).body.text()))
    ).join('\n');

  /** The lines the traffic must have made the instance and the gateway log (so the capture saw them). */
  const assertLogged = (logs: string) => {
    assert.match(logs, /POST \/generate failed/, 'the instance logged its unexpected error');
    assert.match(logs, /api keys: Redis lookup failed/, 'the gateway logged the failed key lookup');
    assert.match(logs, /api keys: Redis limit check failed/, 'the gateway logged the limit failing open');
  };

  it('by default neither prompts, completions nor credentials reach logs, spans or /metrics', async () => {
    const { url, key } = await gateway(false);
    spans.reset();
    let completion = '';
    const logs = await captured(async () => {
      completion = await traffic(url, key);
    });
    const text = spanText(spans.getFinishedSpans());
    assert.ok(
      spans.getFinishedSpans().some((s) => s.name === 'runtime.generate'),
      'the instance traced',
    );
    assert.ok(
      spans.getFinishedSpans().some((s) => s.name.startsWith('POST /v1/')),
      'the gateway traced',
    );
    assertLogged(logs);
    const metrics = await metricsText(url);
    assert.match(metrics, /warmgate_gateway_limiter_fail_open_total [1-9]/, "the gateway's /metrics read");
    assert.match(metrics, /warmgate_runtime_requests_total\{[^}]*\} [1-9]/, "the instance's /metrics read");
    for (const secret of [PROMPT_SECRET, completion, KEY_SECRET, UNKNOWN_KEY, key]) {
      assert.ok(!text.includes(secret), `a span carries ${secret}`);
      assert.ok(!logs.includes(secret), `the logs carry ${secret}`);
      assert.ok(!metrics.includes(secret), `/metrics carries ${secret}`);
    }
    assert.ok(!text.includes('gen_ai.prompt') && !text.includes('gen_ai.completion'));
  });

  it('with recordContent the gateway span carries the prompt and completion; credentials stay out of everything', async () => {
    const { url, key } = await gateway(true);
    spans.reset();
    let completion = '';
    const logs = await captured(async () => {
      completion = await traffic(url, key);
    });
    const finished = spans.getFinishedSpans();
    const span = finished.find(
      (s) =>
        s.name === 'POST /v1/completions' && String(s.attributes['gen_ai.prompt']).includes(PROMPT_SECRET),
    );
    assert.ok(span, 'the completion request span has gen_ai.prompt');
    assert.ok(
      finished.some((s) => s.attributes['gen_ai.completion'] === completion),
      'a span carries the completion',
    );
    const chat = finished.find((s) => s.name === 'POST /v1/chat/completions');
    assert.match(String(chat?.attributes['gen_ai.prompt']), new RegExp(PROMPT_SECRET));
    assertLogged(logs);
    const text = spanText(finished);
    const metrics = await metricsText(url);
    for (const secret of [KEY_SECRET, UNKNOWN_KEY, key]) {
      assert.ok(!text.includes(secret), `a span carries ${secret}`);
      assert.ok(!logs.includes(secret), `the logs carry ${secret}`);
      assert.ok(!metrics.includes(secret), `/metrics carries ${secret}`);
    }
    // Content recording is for spans: logs and metrics never carry content.
    for (const content of [PROMPT_SECRET, completion]) {
      assert.ok(!logs.includes(content), `the logs carry ${content}`);
      assert.ok(!metrics.includes(content), `/metrics carries ${content}`);
    }
  });
});
