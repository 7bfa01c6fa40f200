import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ServerType } from '@hono/node-server';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { type LoadReport, loadReport } from '../../../runtime/instance/load-report.ts';
import { createTelemetry, type Telemetry } from '../../../runtime/telemetry/index.ts';
import { listen, MODELS, parseMetrics, post, sample, until } from './helpers.ts';

const ns = (t: readonly [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const ndjson = async (res: Response) =>
  (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; token?: number; reason?: string });

function generative(telemetry?: Telemetry): RuntimeInstance {
  return new RuntimeInstance({
    modelDir: `${MODELS}tiny`,
    kind: 'generative',
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
    drainTimeoutMs: 5000,
    telemetry,
  });
}

describe('runtime instance spans (generative)', { timeout: 60_000 }, () => {
  const spans = new InMemorySpanExporter();
  const telemetry = createTelemetry({ serviceName: 'warmgate-runtime', spanExporter: spans });
  const inst = generative(telemetry);
  let url = '';
  let server: ServerType;
  before(async () => {
    ({ url, server } = await listen(inst));
    await inst.start();
  });
  after(async () => {
    server.close();
    await inst.stop();
    await telemetry.shutdown();
  });

  const finished = async (name: string) => {
    await telemetry.flush();
    return spans.getFinishedSpans().filter((s) => s.name === name);
  };

  it('one /generate is a runtime.generate span under the caller, with queue, prefill and decode in order', async () => {
    spans.reset();
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const prompt = [...Buffer.from('Hello, spans')];
    const res = await post(
      `${url}/generate`,
      { prompt, params: { temperature: 0.5, topP: 0.9, maxTokens: 7, ignoreEos: true, seed: 1 } },
      { headers: { traceparent: `00-${traceId}-${parentId}-01` } },
    );
    assert.equal(res.status, 200);
    const events = await ndjson(res);
    const generated = events.filter((e) => e.type === 'token').length;
    assert.equal(generated, 7);

    const [gen, ...more] = await finished('runtime.generate');
    assert.ok(gen && more.length === 0, 'exactly one runtime.generate span');
    assert.equal(gen.kind, SpanKind.SERVER);
    assert.equal(gen.spanContext().traceId, traceId);
    assert.equal(gen.parentSpanContext?.spanId, parentId);
    assert.equal(gen.status.code, SpanStatusCode.OK);
    assert.deepEqual(
      {
        op: gen.attributes['gen_ai.operation.name'],
        model: gen.attributes['gen_ai.request.model'],
        maxTokens: gen.attributes['gen_ai.request.max_tokens'],
        temperature: gen.attributes['gen_ai.request.temperature'],
        topP: gen.attributes['gen_ai.request.top_p'],
        input: gen.attributes['gen_ai.usage.input_tokens'],
        output: gen.attributes['gen_ai.usage.output_tokens'],
        reasons: gen.attributes['gen_ai.response.finish_reasons'],
        requestId: gen.attributes['warmgate.request_id'],
        preemptions: gen.attributes['warmgate.preemptions'],
      },
      {
        op: 'text_completion',
        model: inst.modelName,
        maxTokens: 7,
        temperature: 0.5,
        topP: 0.9,
        input: prompt.length,
        output: generated,
        reasons: ['length'],
        requestId: res.headers.get('x-request-id'),
        preemptions: 0,
      },
    );

    const child = async (name: string): Promise<ReadableSpan> => {
      const found = (await finished(name)).filter(
        (s) => s.parentSpanContext?.spanId === gen.spanContext().spanId,
      );
      assert.equal(found.length, 1, `one ${name} under runtime.generate`);
      assert.equal(found[0]!.spanContext().traceId, traceId);
      return found[0]!;
    };
    const [queue, prefill, decode] = [
      await child('runtime.queue'),
      await child('runtime.prefill'),
      await child('runtime.decode'),
    ];
    const times = [
      ns(gen.startTime),
      ns(queue.startTime),
      ns(queue.endTime),
      ns(prefill.startTime),
      ns(prefill.endTime),
      ns(decode.startTime),
      ns(decode.endTime),
      ns(gen.endTime),
    ];
    assert.deepEqual(
      times,
      [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      'generate ⊇ queue ≤ prefill ≤ decode',
    );
    assert.equal(ns(queue.endTime), ns(prefill.startTime), 'prefill starts where the queue ends');
    assert.equal(ns(prefill.endTime), ns(decode.startTime), 'decode starts at the first token');
    const first = gen.events.filter((e) => e.name === 'gen_ai.first_token');
    assert.equal(first.length, 1);
    assert.equal(ns(first[0]!.time), ns(decode.startTime), 'the first-token event is at the first token');
  });

  it('a refused request still ends its span, as an error with the code', async () => {
    spans.reset();
    const res = await post(`${url}/generate`, { prompt: 'x', params: { temperature: 9 } });
    assert.equal(res.status, 400);
    const [gen] = await finished('runtime.generate');
    assert.equal(gen!.status.code, SpanStatusCode.ERROR);
    assert.equal(gen!.attributes['error.type'], 'invalid_sampling_params');
    assert.equal(gen!.attributes['warmgate.status'], 'rejected');
    assert.equal(gen!.parentSpanContext, undefined, 'no traceparent: a root span');
  });

  it('a client that leaves ends the span as aborted', async () => {
    spans.reset();
    const ctl = new AbortController();
    const res = await post(
      `${url}/generate`,
      { prompt: 'leave early', params: { temperature: 0, maxTokens: 240, ignoreEos: true } },
      { signal: ctl.signal },
    );
    await res.body!.getReader().read(); // the request is running
    ctl.abort();
    await until(async () => (await finished('runtime.generate')).length === 1, 'the span to end');
    const [gen] = await finished('runtime.generate');
    assert.equal(gen!.attributes['warmgate.status'], 'aborted');
    assert.equal(gen!.status.code, SpanStatusCode.ERROR);
    assert.deepEqual(gen!.attributes['gen_ai.response.finish_reasons'], ['abort']);
    assert.equal((await finished('runtime.decode')).length, 1, 'its children ended too');
  });
});

describe('runtime instance metrics and load report (generative)', { timeout: 60_000 }, () => {
  const inst = generative(); // no telemetry given: the instance keeps its own for /metrics
  let url = '';
  let server: ServerType;
  before(async () => {
    ({ url, server } = await listen(inst));
    await inst.start();
  });
  after(async () => {
    server.close();
    await inst.stop();
  });

  it('carries the load report on every /generate response and answers it on /load', async () => {
    const res = await post(`${url}/generate`, {
      prompt: 'a shared prefix of more than one block, then a',
      params: { temperature: 0, maxTokens: 3, ignoreEos: true },
    });
    const header = JSON.parse(res.headers.get('x-warmgate-load')!) as LoadReport;
    await res.text();
    assert.equal(header.model, inst.modelName);
    assert.equal(header.state, 'ready');
    assert.equal(header.executionProvider, 'cpu');
    assert.equal(header.outstanding, 1, 'the request it came with is in flight');
    assert.equal(typeof header.kvFreeBlocks, 'number');

    const before = (await (await fetch(`${url}/load`)).json()) as LoadReport;
    const again = await post(`${url}/generate`, {
      prompt: 'a shared prefix of more than one block, then b',
      params: { temperature: 0, maxTokens: 3, ignoreEos: true },
    });
    await again.text();
    const load = (await (await fetch(`${url}/load`)).json()) as LoadReport;
    assert.equal(load.outstanding, 0);
    assert.equal(load.executionProvider, 'cpu');
    assert.deepEqual(load.kvPool, { place: 'host' });
    assert.equal(load.prefixQueryTokens! - before.prefixQueryTokens!, 46, 'the whole prompt was looked up');
    assert.equal(load.prefixHitTokens! - before.prefixHitTokens!, 32, 'two full blocks of 16 hit');

    const refused = await post(`${url}/generate`, { prompt: 5 });
    assert.equal(refused.status, 400);
    assert.equal((JSON.parse(refused.headers.get('x-warmgate-load')!) as LoadReport).outstanding, 0);
  });

  it('/metrics counts requests by status and agrees with the engine on steps and tokens', async () => {
    const base = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    const model = inst.modelName;
    const count = (samples: ReturnType<typeof parseMetrics>, name: string, labels = {}) =>
      sample(samples, name, { model, ...labels }) ?? 0;

    const ok = await Promise.all(
      [1, 2, 3].map((i) =>
        post(`${url}/generate`, {
          prompt: `request ${i}`,
          params: { temperature: 0, maxTokens: 5, ignoreEos: true },
        }).then((r) => r.text()),
      ),
    );
    assert.equal(ok.length, 3);
    assert.equal((await post(`${url}/generate`, { prompt: 'x', params: { topP: 7 } })).status, 400);
    assert.equal((await post(`${url}/generate`, { prompt: 'x'.repeat(300) })).status, 400);
    const ctl = new AbortController();
    const leaving = await post(
      `${url}/generate`,
      { prompt: 'leave', params: { temperature: 0, maxTokens: 240, ignoreEos: true } },
      { signal: ctl.signal },
    );
    await leaving.body!.getReader().read();
    ctl.abort();
    await until(() => inst.outstanding === 0, 'the aborted stream to end');
    await inst.engine!.idle();

    const res = await fetch(`${url}/metrics`);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    const m = parseMetrics(await res.text());
    const delta = (name: string, labels = {}) => count(m, name, labels) - count(base, name, labels);
    const requests = 'warmgate_runtime_requests_total';
    assert.equal(delta(requests, { status: 'ok' }), 3);
    assert.equal(delta(requests, { status: 'rejected' }), 2);
    assert.equal(delta(requests, { status: 'aborted' }), 1);
    assert.equal(delta(requests, { status: 'error' }), 0);
    assert.equal(delta('warmgate_runtime_e2e_latency_seconds_count'), 3, 'finished requests only');
    assert.equal(delta('warmgate_runtime_time_per_output_token_seconds_count'), 3);
    assert.equal(
      delta('warmgate_runtime_time_to_first_token_seconds_count'),
      4,
      'the aborted one had a token',
    );
    assert.equal(delta('warmgate_runtime_queue_time_seconds_count'), 4);
    assert.equal(
      count(m, 'warmgate_runtime_time_to_first_token_seconds_bucket', { le: '+Inf' }),
      count(m, 'warmgate_runtime_time_to_first_token_seconds_count'),
    );

    const s = inst.engine!.stats();
    assert.equal(count(m, 'warmgate_runtime_batch_size_count'), s.steps, 'one observation per engine step');
    assert.equal(count(m, 'warmgate_runtime_tokens_generated_total'), s.tokensSampled);
    assert.equal(count(m, 'warmgate_runtime_running_requests'), 0);
    assert.equal(count(m, 'warmgate_runtime_waiting_requests'), 0);
    assert.equal(count(m, 'warmgate_runtime_kv_usage_ratio'), 0);
    assert.equal(count(m, 'warmgate_runtime_kv_free_blocks'), s.kvFreeBlocks);
    assert.equal(count(m, 'warmgate_runtime_prefix_cache_query_tokens_total'), s.prefixQueryTokens);
    assert.equal(count(m, 'warmgate_runtime_prefix_cache_hit_tokens_total'), s.prefixHitTokens);
    assert.ok(s.prefixQueryTokens > 0);
    // Readers that kept up: none cancelled; the deepest backlog is read from the engine, not made up.
    assert.equal(count(m, 'warmgate_runtime_stalled_cancels_total'), 0);
    assert.equal(count(m, 'warmgate_runtime_peak_buffered_events'), s.peakBufferedEvents);
  });
});

describe('runtime instance spans and metrics (tensor)', { timeout: 30_000 }, () => {
  const spans = new InMemorySpanExporter();
  const telemetry = createTelemetry({ serviceName: 'warmgate-runtime', spanExporter: spans });
  const inst = new RuntimeInstance({ modelDir: `${MODELS}classifier`, kind: 'tensor', telemetry });
  let url = '';
  let server: ServerType;
  before(async () => {
    ({ url, server } = await listen(inst));
    await inst.start();
  });
  after(async () => {
    server.close();
    await inst.stop();
    await telemetry.shutdown();
  });

  it('traces /infer with its batch rows and queue wait, counts it, and carries the load report', async () => {
    const data = Array.from({ length: 32 }, (_, i) => i / 32);
    const res = await post(`${url}/infer`, { inputs: [{ name: 'features', shape: [2, 16], data }] });
    assert.equal(res.status, 200);
    const load = JSON.parse(res.headers.get('x-warmgate-load')!) as LoadReport;
    assert.deepEqual([load.kind, load.state, load.executionProvider], ['tensor', 'ready', 'cpu']);
    assert.equal(typeof load.outstanding, 'number');
    const { batchRows } = (await res.json()) as { batchRows: number };
    const bad = await post(`${url}/infer`, {
      inputs: [{ name: 'features', shape: [1, 3], data: [1, 2, 3] }],
    });
    assert.equal(bad.status, 400);
    assert.ok(bad.headers.get('x-warmgate-load'));

    await telemetry.flush();
    const infers = spans.getFinishedSpans().filter((s) => s.name === 'runtime.infer');
    assert.equal(infers.length, 2);
    const [good, refused] = infers;
    assert.equal(good!.attributes['warmgate.batch_rows'], batchRows);
    assert.equal(good!.status.code, SpanStatusCode.OK);
    const queue = spans
      .getFinishedSpans()
      .filter(
        (s) => s.name === 'runtime.queue' && s.parentSpanContext?.spanId === good!.spanContext().spanId,
      );
    assert.equal(queue.length, 1);
    assert.equal(refused!.status.code, SpanStatusCode.ERROR);
    assert.equal(refused!.attributes['error.type'], 'invalid_tensor');

    const m = parseMetrics(await telemetry.metricsText());
    const model = inst.modelName;
    assert.equal(sample(m, 'warmgate_runtime_requests_total', { model, status: 'ok' }), 1);
    assert.equal(sample(m, 'warmgate_runtime_requests_total', { model, status: 'rejected' }), 1);
    const calls = [...inst.batcher!.batchSizes.values()].reduce((a, b) => a + b, 0);
    assert.equal(sample(m, 'warmgate_runtime_batch_size_count', { model }), calls, 'warm-up included');
    assert.equal(sample(m, 'warmgate_runtime_e2e_latency_seconds_count', { model }), 1);
    assert.equal(sample(m, 'warmgate_runtime_running_requests', { model }), undefined, 'no engine gauges');
  });
});

// A GPU instance's /load says where its KV pool lives and how its step attends; the CPU runs the
// device-resident contract too (`kv: 'device'`, as CI tests it), with the fused step (PagedAttention has
// no CPU kernel).
describe(
  "GET /load names the KV pool: on the device, its dtype, the step's attention and compute type",
  { timeout: 60_000 },
  () => {
    it('kv device float16 on the CPU: the fused step, in float32', async () => {
      const inst = new RuntimeInstance({
        modelDir: `${MODELS}tiny`,
        kind: 'generative',
        engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
        kv: 'device',
        kvDtype: 'float16',
        drainTimeoutMs: 5000,
      });
      await inst.start();
      try {
        assert.deepEqual(loadReport(inst).kvPool, {
          place: 'device',
          dtype: 'float16',
          attention: 'fused',
          compute: 'float32',
        });
      } finally {
        await inst.stop();
      }
    });
  },
);
