import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { contextFromHeaders, createTelemetry, traceHeaders } from '../../../runtime/telemetry/index.ts';

describe('telemetry', () => {
  it('keeps two services apart in one process: each exports only its own spans, under its own name', async () => {
    const a = new InMemorySpanExporter();
    const b = new InMemorySpanExporter();
    const ta = createTelemetry({ serviceName: 'svc-a', spanExporter: a });
    const tb = createTelemetry({ serviceName: 'svc-b', spanExporter: b });
    try {
      ta.tracer.startSpan('from-a').end();
      tb.tracer.startSpan('from-b').end();
      await Promise.all([ta.flush(), tb.flush()]);
      assert.deepEqual(
        a.getFinishedSpans().map((s) => [s.name, s.resource.attributes['service.name']]),
        [['from-a', 'svc-a']],
      );
      assert.deepEqual(
        b.getFinishedSpans().map((s) => [s.name, s.resource.attributes['service.name']]),
        [['from-b', 'svc-b']],
      );
    } finally {
      await Promise.all([ta.shutdown(), tb.shutdown()]);
    }
  });

  it('carries the active span across awaits and through W3C headers to a remote parent', async () => {
    const spans = new InMemorySpanExporter();
    const t = createTelemetry({ serviceName: 'svc', spanExporter: spans });
    try {
      const headers = await t.tracer.startActiveSpan('outer', async (outer) => {
        await new Promise((r) => setTimeout(r, 1));
        assert.equal(trace.getActiveSpan(), outer, 'still active after an await');
        const h = traceHeaders();
        outer.end();
        return { h, ids: outer.spanContext() };
      });
      assert.match(headers.h.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.equal(headers.h.traceparent, `00-${headers.ids.traceId}-${headers.ids.spanId}-01`);
      assert.deepEqual(traceHeaders(), {}, 'no active span outside: no headers');

      const remote = contextFromHeaders((n) => headers.h[n]);
      const sc = trace.getSpanContext(remote)!;
      assert.equal(sc.traceId, headers.ids.traceId);
      assert.equal(sc.spanId, headers.ids.spanId);
      assert.equal(sc.isRemote, true);
      const child = t.tracer.startSpan('child', {}, remote);
      child.end();
      assert.equal(child.spanContext().traceId, headers.ids.traceId);
      await t.flush();
      const ended = spans.getFinishedSpans().find((s) => s.name === 'child')!;
      assert.equal(ended.parentSpanContext?.spanId, headers.ids.spanId);

      assert.equal(trace.getSpanContext(contextFromHeaders(() => null)), undefined);
      assert.equal(trace.getSpanContext(contextFromHeaders(() => 'garbage')), undefined);
      assert.equal(trace.getActiveSpan(), undefined);
    } finally {
      await t.shutdown();
    }
  });

  it('serializes its metrics in Prometheus text, and only its own', async () => {
    const t1 = createTelemetry({ serviceName: 'one' });
    const t2 = createTelemetry({ serviceName: 'two' });
    try {
      const c = t1.meter.createCounter('demo_requests_total');
      c.add(2, { route: 'a' });
      c.add(1, { route: 'b' });
      const text = await t1.metricsText();
      assert.match(text, /^# TYPE demo_requests_total counter$/m);
      assert.match(text, /^demo_requests_total\{route="a"\} 2$/m);
      assert.match(text, /^demo_requests_total\{route="b"\} 1$/m);
      assert.doesNotMatch(await t2.metricsText(), /demo_requests_total/);
    } finally {
      await Promise.all([t1.shutdown(), t2.shutdown()]);
    }
  });

  it('exports spans as OTLP http/protobuf to ${endpoint}/v1/traces', async () => {
    const received: { url: string; type: string; body: Buffer }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (b: Buffer) => chunks.push(b));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        received.push({ url: req.url!, type: String(req.headers['content-type']), body });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const t = createTelemetry({
      serviceName: 'otlp-test-service',
      otlpEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    try {
      t.tracer.startSpan('span-sent-over-otlp').end();
      await t.flush();
      assert.equal(received.length, 1);
      assert.equal(received[0]!.url, '/v1/traces');
      assert.equal(received[0]!.type, 'application/x-protobuf');
      // Protobuf strings are raw UTF-8, so the names appear as they are.
      assert.ok(received[0]!.body.includes('span-sent-over-otlp'), 'the span name is in the body');
      assert.ok(received[0]!.body.includes('otlp-test-service'), 'the service name is in the body');
    } finally {
      await t.shutdown();
      server.close();
    }
  });
});
