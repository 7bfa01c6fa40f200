// Prompts, completions and credentials stay out of logs and spans unless the operator turns content
// recording on. A gateway and a real tiny-model runtime instance run in this process, both tracing into
// one in-memory exporter, with everything written to stdout and stderr captured while requests that
// carry secrets go through (answered, streamed, refused, malformed). Then the same with recordContent:
// the prompt and completion appear on the gateway's span; credentials still never do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerType } from '@hono/node-server';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { createTelemetry, type Telemetry } from '../../../runtime/telemetry/index.ts';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { deployment, MODELS } from '../../support/platform.ts';
import { listen } from '../../runtime/instance/helpers.ts';

const PROMPT_SECRET = 'PZQX-prompt-7731';
const KEY_SECRET = 'sk-KQVZ-credential-9904';
const CREDENTIAL_HEADERS = {
  authorization: `Bearer ${KEY_SECRET}`,
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
  const gateways: { gw: RunningGateway; telemetry: Telemetry }[] = [];

  const gateway = async (recordContent: boolean) => {
    const telemetry = createTelemetry({ serviceName: 'warmgate-gateway', spanExporter: spans });
    const gw = await startGateway({
      port: 0,
      telemetry,
      recordContent,
      pollIntervalMs: 100,
      deployments: [deployment('tiny', 'generative', 'tiny')],
      instances: [{ deployment: 'tiny', url: instanceUrl }],
    });
    gateways.push({ gw, telemetry });
    return gw.url;
  };

  before(async () => {
    ({ url: instanceUrl, server } = await listen(inst));
    await inst.start();
  });
  after(async () => {
    for (const g of gateways) {
      await g.gw.close();
      await g.telemetry.shutdown();
    }
    server?.close();
    await inst.stop();
    await runtimeTelemetry.shutdown();
  });

  /** Requests that carry the secrets: answered, streamed, refused at the gateway, malformed. */
  const traffic = async (url: string) => {
    const send = async (path: string, body: string) => {
      const res = await request(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...CREDENTIAL_HEADERS },
        body,
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    const statuses: number[] = [];
    const json = (o: object) => JSON.stringify(o);
    for (const [path, body] of [
      ['/v1/completions', json({ model: 'tiny', prompt: `Say ${PROMPT_SECRET}`, max_tokens: 4 })],
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
    ] as const) {
      statuses.push((await send(path, body)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 400, 400, 400, 404]);
    await runtimeTelemetry.flush();
    for (const g of gateways) await g.telemetry.flush();
  };

  it('by default neither prompts, completions nor credentials reach logs or spans', async () => {
    const url = await gateway(false);
    spans.reset();
    const logs = await captured(() => traffic(url));
    const text = spanText(spans.getFinishedSpans());
    assert.ok(
      spans.getFinishedSpans().some((s) => s.name === 'runtime.generate'),
      'the instance traced',
    );
    assert.ok(
      spans.getFinishedSpans().some((s) => s.name.startsWith('POST /v1/')),
      'the gateway traced',
    );
    for (const secret of [PROMPT_SECRET, KEY_SECRET]) {
      assert.ok(!text.includes(secret), `a span carries ${secret}`);
      assert.ok(!logs.includes(secret), `the logs carry ${secret}`);
    }
    assert.ok(!text.includes('gen_ai.prompt') && !text.includes('gen_ai.completion'));
  });

  it('with recordContent the gateway span carries the prompt and completion, never the credentials', async () => {
    const url = await gateway(true);
    spans.reset();
    const logs = await captured(() => traffic(url));
    const finished = spans.getFinishedSpans();
    const completion = finished.find(
      (s) =>
        s.name === 'POST /v1/completions' && String(s.attributes['gen_ai.prompt']).includes(PROMPT_SECRET),
    );
    assert.ok(completion, 'the completion request span has gen_ai.prompt');
    assert.equal(typeof completion.attributes['gen_ai.completion'], 'string');
    const chat = finished.find((s) => s.name === 'POST /v1/chat/completions');
    assert.match(String(chat?.attributes['gen_ai.prompt']), new RegExp(PROMPT_SECRET));
    const text = spanText(finished);
    assert.ok(!text.includes(KEY_SECRET), 'a span carries the credential');
    assert.ok(!logs.includes(KEY_SECRET) && !logs.includes(PROMPT_SECRET), 'the logs carry a secret');
  });
});
