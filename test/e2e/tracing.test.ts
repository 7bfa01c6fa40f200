// One request's trace across the gateway and a runtime instance, each with its own telemetry and
// in-memory exporter, the two joined only by W3C trace context over real HTTP (the instance runs in this
// process behind its own HTTP server). Then the same spans leaving the gateway over OTLP http/protobuf
// to a real HTTP listener.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { ServerType } from '@hono/node-server';
import { SpanKind } from '@opentelemetry/api';
import { hrTimeToNanoseconds } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type RunningGateway, startGateway } from '../../gateway/server/index.ts';
import { RuntimeInstance } from '../../runtime/instance/instance.ts';
import { createTelemetry } from '../../runtime/telemetry/index.ts';
import { listen } from '../runtime/instance/helpers.ts';
import { deployment } from '../support/platform.ts';
import { eventually } from './observe.ts';

const MODEL = 'tiny';
const CONTENT = 'trace me';
/** The gateway's chat template for one user message (gateway/openai/chat-request.ts). */
const CHAT_PROMPT = `User:\n${CONTENT}\n\nAssistant:\n`;
const ROUTE = 'POST /v1/chat/completions';

interface Chunk {
  choices: { delta: { content?: string } }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

/** A W3C traceparent for a client span of our own: the ids the trace must carry on. */
function clientSpan() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** A streamed chat completion, read to the end; its chunks (the [DONE] sentinel checked and dropped). */
async function streamChat(base: string, traceparent: string): Promise<Chunk[]> {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent },
    body: JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: CONTENT }],
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const data = (await res.text())
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6));
  assert.equal(data.at(-1), '[DONE]');
  return data.slice(0, -1).map((d) => JSON.parse(d) as Chunk);
}

describe('tracing across gateway and runtime', { timeout: 60_000 }, () => {
  const runtimeSpans = new InMemorySpanExporter();
  const runtimeTelemetry = createTelemetry({ serviceName: 'warmgate-runtime', spanExporter: runtimeSpans });
  const inst = new RuntimeInstance({
    modelDir: new URL('../../runtime/models/tiny', import.meta.url).pathname,
    kind: 'generative',
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
    drainTimeoutMs: 5000,
    telemetry: runtimeTelemetry,
  });
  let instanceUrl = '';
  let instanceServer: ServerType;
  before(async () => {
    ({ url: instanceUrl, server: instanceServer } = await listen(inst));
    await inst.start();
  });
  after(async () => {
    instanceServer?.close();
    await inst.stop();
    await runtimeTelemetry.shutdown();
  });

  const gatewayOptions = () => ({
    port: 0,
    deployments: [deployment(MODEL, 'generative', 'tiny')],
    instances: [{ deployment: MODEL, url: instanceUrl }],
  });

  it('one streamed chat completion is one trace: client → gateway → runtime', async () => {
    const gatewaySpans = new InMemorySpanExporter();
    const gatewayTelemetry = createTelemetry({ serviceName: 'warmgate-gateway', spanExporter: gatewaySpans });
    const gw = await startGateway({ ...gatewayOptions(), telemetry: gatewayTelemetry });
    try {
      runtimeSpans.reset();
      const client = clientSpan();
      const chunks = await streamChat(gw.url, client.traceparent);
      const usage = chunks.at(-1)!.usage!;
      assert.equal(usage.prompt_tokens, Buffer.byteLength(CHAT_PROMPT), 'the model is byte-level');
      assert.ok(usage.completion_tokens >= 1);

      // The SERVER span ends when the stream's last byte is written, just after the client has read it.
      const [server] = await eventually(
        'the gateway span to end',
        async () => {
          await gatewayTelemetry.flush();
          return gatewaySpans.getFinishedSpans().filter((s) => s.name === ROUTE);
        },
        (found) => found.length === 1,
      );
      const gatewayFinished = gatewaySpans.getFinishedSpans();
      await runtimeTelemetry.flush();
      const runtimeFinished = runtimeSpans.getFinishedSpans();
      const childrenOf = (spans: readonly ReadableSpan[], parent: ReadableSpan, name: string) =>
        spans.filter((s) => s.name === name && s.parentSpanContext?.spanId === parent.spanContext().spanId);
      const one = (spans: readonly ReadableSpan[], parent: ReadableSpan, name: string) => {
        const found = childrenOf(spans, parent, name);
        assert.equal(found.length, 1, `one ${name} under ${parent.name}, got ${found.length}`);
        assert.equal(found[0]!.spanContext().traceId, client.traceId, `${name} is in the client's trace`);
        return found[0]!;
      };

      // The gateway: a SERVER span under the client's, with validate, queue, route and upstream under it.
      assert.equal(server!.kind, SpanKind.SERVER);
      assert.equal(server!.spanContext().traceId, client.traceId);
      assert.equal(server!.parentSpanContext?.spanId, client.spanId, "a child of the client's span");
      assert.equal(server!.parentSpanContext?.isRemote, true);
      const validate = one(gatewayFinished, server!, 'gateway.validate');
      one(gatewayFinished, server!, 'gateway.queue');
      const route = one(gatewayFinished, server!, 'gateway.route');
      assert.equal(route.attributes['warmgate.attempt'], 1);
      const upstream = one(gatewayFinished, server!, 'gateway.upstream');
      assert.ok(
        hrTimeToNanoseconds(validate.endTime) <= hrTimeToNanoseconds(upstream.startTime),
        'the body is checked before the upstream call',
      );
      assert.equal(upstream.attributes['server.address'], instanceUrl);
      assert.deepEqual(
        {
          model: server!.attributes['gen_ai.request.model'],
          operation: server!.attributes['gen_ai.operation.name'],
          input: server!.attributes['gen_ai.usage.input_tokens'],
          output: server!.attributes['gen_ai.usage.output_tokens'],
          status: server!.attributes['http.response.status_code'],
        },
        {
          model: MODEL,
          operation: 'chat',
          input: usage.prompt_tokens,
          output: usage.completion_tokens,
          status: 200,
        },
      );
      const firstToken = server!.events.filter((e) => e.name === 'gen_ai.first_token');
      assert.equal(firstToken.length, 1, 'one first-token event on the gateway span');

      // The runtime: its generate span continues the trace under gateway.upstream (W3C over HTTP).
      const generates = runtimeFinished.filter((s) => s.name === 'runtime.generate');
      assert.equal(generates.length, 1);
      const generate = generates[0]!;
      assert.equal(generate.spanContext().traceId, client.traceId);
      assert.equal(generate.parentSpanContext?.spanId, upstream.spanContext().spanId);
      assert.equal(generate.parentSpanContext?.isRemote, true, 'the parent came over HTTP');
      for (const name of ['runtime.queue', 'runtime.prefill', 'runtime.decode'])
        one(runtimeFinished, generate, name);
      assert.deepEqual(
        {
          model: generate.attributes['gen_ai.request.model'],
          operation: generate.attributes['gen_ai.operation.name'],
          maxTokens: generate.attributes['gen_ai.request.max_tokens'],
          input: generate.attributes['gen_ai.usage.input_tokens'],
          output: generate.attributes['gen_ai.usage.output_tokens'],
        },
        {
          model: inst.modelName,
          operation: 'text_completion',
          maxTokens: 6,
          input: usage.prompt_tokens,
          output: usage.completion_tokens,
        },
      );
      assert.equal(generate.events.filter((e) => e.name === 'gen_ai.first_token').length, 1);
      const all = [...gatewayFinished, ...runtimeFinished];
      assert.ok(
        all.every((s) => s.spanContext().traceId === client.traceId),
        'nothing of this request started a trace of its own',
      );
    } finally {
      await gw.close();
      await gatewayTelemetry.shutdown();
    }
  });

  describe('OTLP export', () => {
    interface Received {
      method: string;
      url: string;
      headers: IncomingHttpHeaders;
      body: Buffer;
    }
    const received: Received[] = [];
    let collector: Server;
    let endpoint = '';
    before(async () => {
      collector = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        });
      });
      await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
      endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    });
    after(async () => {
      collector.closeAllConnections();
      await new Promise((r) => collector.close(r));
    });

    it("a gateway given otlpEndpoint exports the request's spans as OTLP protobuf", async () => {
      const gw: RunningGateway = await startGateway({ ...gatewayOptions(), otlpEndpoint: endpoint });
      const client = clientSpan();
      try {
        await streamChat(gw.url, client.traceparent);
      } finally {
        await gw.close(); // shuts down the telemetry it made, which flushes the batched spans
      }
      const traces = received.filter((r) => r.url === '/v1/traces');
      assert.ok(traces.length >= 1, `POST /v1/traces expected; got ${received.map((r) => r.url).join(', ')}`);
      for (const r of traces) {
        assert.equal(r.method, 'POST');
        assert.match(String(r.headers['content-type']), /^application\/x-protobuf/);
      }
      const body = Buffer.concat(traces.map((r) => r.body));
      for (const text of [
        'warmgate-gateway',
        ROUTE,
        'gateway.validate',
        'gateway.queue',
        'gateway.route',
        'gateway.upstream',
        'chat',
      ]) {
        assert.ok(body.includes(Buffer.from(text)), `the export carries '${text}'`);
      }
      // Protobuf carries ids as raw bytes: the client's trace id is in there, as is its span id (the parent).
      assert.ok(body.includes(Buffer.from(client.traceId, 'hex')), "the client's trace id");
      assert.ok(body.includes(Buffer.from(client.spanId, 'hex')), "the client's span id as the parent");
    });
  });
});
