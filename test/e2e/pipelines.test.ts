// Pipelines end to end: the shipped example (examples/pipelines/speaker-line.yaml: the tensor demo model
// classifies, the generative demo model speaks as the class it chose) deployed through the admin API on
// real instance processes behind an in-process gateway. Its answer equals the two deployments called by
// hand in sequence; deploy-time refusals; a failing step named; one trace with a span per step; the
// demand each step's deployment sees, read by the controller from the request history.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parse as parseYaml } from 'yaml';
import { MemoryHistoryStore } from '../../gateway/request-history/index.ts';
import { createTelemetry } from '../../runtime/telemetry/index.ts';
import { Controller } from '../../warmpool/controller/index.ts';
import { MemoryDemandFeed } from '../../warmpool/demand-feed/index.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { FakeProvider } from '../support/fake-provider.ts';
import { ADMIN_HEADERS, deployment, type Platform, startPlatform } from '../support/platform.ts';
import { eventually } from './observe.ts';

const EXAMPLE = new URL('../../examples/pipelines/speaker-line.yaml', import.meta.url);
const SPEAKERS = ['ROMEO:\n', 'JULIET:\n', 'MENENIUS:\n'];
/** Feature rows of the classifier's 16, one classified as each speaker (JULIET, ROMEO, MENENIUS). */
const FEATURES = [
  [Array.from({ length: 16 }, (_, i) => i / 16)],
  [Array.from({ length: 16 }, (_, i) => (i % 3) - 1)],
  [Array.from({ length: 16 }, (_, i) => i % 2)],
];

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; param: string | null } };
}

describe('pipelines (real instances)', { timeout: 300_000 }, () => {
  let p: Platform;
  const spans = new InMemorySpanExporter();
  const telemetry = createTelemetry({ serviceName: 'warmgate-gateway', spanExporter: spans });
  const history = new MemoryHistoryStore({});
  let example: Record<string, unknown>;
  /** An API key that may call every deployment (the gateway requires keys). */
  let key = '';

  const call = async (method: string, path: string, body?: unknown, admin = false): Promise<Answer> => {
    const res = await fetch(`${p.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(admin ? ADMIN_HEADERS : { authorization: `Bearer ${key}` }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Answer['body']) : {} };
  };
  const deploy = (spec: Record<string, unknown>) =>
    call('PUT', `/admin/v1/deployments/${String(spec.name)}`, spec, true);

  before(async () => {
    p = await startPlatform({
      apiKeys: 'required',
      telemetry,
      history,
      deployments: [
        { spec: deployment('classifier', 'tensor', 'classifier') },
        { spec: deployment('demo', 'generative', 'demo') },
      ],
    });
    key = ((await call('POST', '/admin/v1/keys', { name: 'pipelines' }, true)).body as { key: string }).key;
    example = parseYaml(await readFile(EXAMPLE, 'utf8')) as Record<string, unknown>;
    const r = await deploy(example);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });

  after(async () => {
    await p?.close();
    await telemetry.shutdown();
  });

  it('answers as the two deployments called by hand in sequence', async () => {
    const chosen = new Set<string>();
    for (const features of FEATURES) {
      const classified = await call('POST', '/v1/functions/classifier', { inputs: { features } });
      assert.equal(classified.status, 200, JSON.stringify(classified.body));
      const probs = (classified.body.outputs as { probabilities: number[][] }).probabilities[0]!;
      const speaker = SPEAKERS[probs.indexOf(Math.max(...probs))]!;
      chosen.add(speaker);
      const byHand = await call('POST', '/v1/functions/demo', {
        prompt: speaker,
        max_tokens: 48,
        temperature: 0,
      });
      assert.equal(byHand.status, 200, JSON.stringify(byHand.body));
      const piped = await call('POST', '/v1/functions/speaker-line', { features });
      assert.equal(piped.status, 200, JSON.stringify(piped.body));
      assert.deepEqual(piped.body, byHand.body);
      assert.equal(
        piped.body.usage && (piped.body.usage as { prompt_tokens: number }).prompt_tokens,
        Buffer.byteLength(speaker),
      );
    }
    assert.equal(chosen.size, 3, 'each class chose its own prompt');
  });

  it('streams its last generative step as NDJSON, the same text as the whole answer', async () => {
    const features = FEATURES[0];
    const whole = await call('POST', '/v1/functions/speaker-line', { features });
    const res = await fetch(`${p.url}/v1/functions/speaker-line`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ features, stream: true }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /application\/x-ndjson/);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text?: string; done?: boolean; finish_reason?: string });
    assert.equal(lines.at(-1)!.done, true);
    assert.equal(lines.map((l) => l.text ?? '').join(''), whole.body.output);
  });

  it('refuses at deploy a cycle, an unknown deployment and a type mismatch, saying which', async () => {
    const steps = example.steps as Record<string, Record<string, unknown>>;
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        {
          steps: {
            a: { deployment: 'demo', prompt: '{{ $.steps.b.output }}' },
            b: { deployment: 'demo', prompt: '{{ $.steps.a.output }}' },
          },
          output: '$.steps.b',
        },
        'steps',
        /cycle: a -> b -> a/,
      ],
      [
        {
          steps: {
            ...steps,
            classify: { deployment: 'clasifier', inputs: { features: '$.request.features' } },
          },
        },
        'steps.classify.deployment',
        /deployment 'clasifier' is not deployed/,
      ],
      [
        { steps: { ...steps, classify: { deployment: 'classifier', inputs: { features: 'ROMEO' } } } },
        'steps.classify.inputs.features',
        /feeds tensor deployment 'classifier' a string/,
      ],
    ];
    for (const [over, param, message] of cases) {
      const r = await deploy({ ...example, name: 'broken', ...over });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error!.code, 'deployment_invalid');
      assert.equal(r.body.error!.param, param);
      assert.match(r.body.error!.message, message);
    }
    assert.equal((await call('GET', '/admin/v1/deployments/broken', undefined, true)).status, 404);
    const inUse = await call('DELETE', '/admin/v1/deployments/classifier', undefined, true);
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.error!.message, /called by pipeline\(s\) speaker-line/);
  });

  it('fails a call with the failing step named, its code and status kept', async () => {
    const { inputSchema: _, ...bare } = example;
    assert.equal((await deploy({ ...bare, name: 'speaker-line-bare' })).status, 201);
    const demoCalls = async () =>
      (await history.series('demo', Date.now() - 600_000, Date.now() + 1000, 600_000)).reduce(
        (n, b) => n + b.arrivals,
        0,
      );
    const before = await demoCalls();
    const r = await call('POST', '/v1/functions/speaker-line-bare', { features: [[1, 2, 3]] });
    assert.equal(await demoCalls(), before, 'the step after the failed one never ran');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error!.code, 'invalid_tensor');
    assert.match(
      r.body.error!.message,
      /pipeline 'speaker-line-bare' step 'classify' \(deployment 'classifier'\) failed/,
    );
    assert.equal(r.body.error!.param, 'steps.classify.inputs.features');
    const missing = await call('POST', '/v1/functions/speaker-line-bare', {});
    assert.equal(missing.status, 400);
    assert.match(
      missing.body.error!.message,
      /step 'classify'.*'\$\.request\.features', which the request lacks/,
    );
    // A path no deploy-time check can refuse (the classifier's output names come from its instances).
    const logits = {
      ...bare,
      name: 'speaker-logits',
      steps: { classify: (bare.steps as Record<string, unknown>).classify },
      output: '$.steps.classify.outputs.logits',
    };
    assert.equal((await deploy(logits)).status, 201);
    const unresolved = await call('POST', '/v1/functions/speaker-logits', { features: FEATURES[0] });
    assert.equal(unresolved.status, 502, JSON.stringify(unresolved.body));
    assert.equal(unresolved.body.error!.code, 'pipeline_value_missing');
    assert.match(
      unresolved.body.error!.message,
      /'\$\.steps\.classify\.outputs\.logits', which step 'classify' did not answer/,
    );
    const stream = await call('POST', '/v1/functions/classifier', {
      inputs: { features: FEATURES[0] },
      stream: true,
    });
    assert.equal(stream.status, 400, 'a tensor function takes no stream');
  });

  it("is called with the pipeline's allowedKeys, whatever its steps' deployments allow", async () => {
    const other = (await call('POST', '/admin/v1/keys', { name: 'other' }, true)).body as {
      key: string;
      id: string;
    };
    assert.equal(
      (await deploy({ ...example, name: 'speaker-line-private', allowedKeys: [other.id] })).status,
      201,
    );
    const r = await call('POST', '/v1/functions/speaker-line-private', { features: FEATURES[0] });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error!.code, 'model_forbidden');
    const mine = key;
    key = other.key;
    try {
      assert.equal(
        (await call('POST', '/v1/functions/speaker-line-private', { features: FEATURES[0] })).status,
        200,
      );
    } finally {
      key = mine;
    }
  });

  it('is one trace: a pipeline.step span per step under the request, the second after the first', async () => {
    spans.reset();
    const r = await call('POST', '/v1/functions/speaker-line', { features: FEATURES[0] });
    assert.equal(r.status, 200);
    const [server] = await eventually(
      'the request span to end',
      async () => {
        await telemetry.flush();
        return spans.getFinishedSpans().filter((s) => s.name === 'POST /v1/functions/speaker-line');
      },
      (found) => found.length === 1,
    );
    const all = spans.getFinishedSpans();
    const steps = all.filter((s) => s.name === 'pipeline.step');
    const byStep = (id: string) => steps.find((s) => s.attributes['warmgate.pipeline.step'] === id)!;
    assert.deepEqual(steps.map((s) => s.attributes['warmgate.pipeline.step']).sort(), ['classify', 'line']);
    for (const s of all) assert.equal(s.spanContext().traceId, server!.spanContext().traceId, s.name);
    for (const s of steps) assert.equal(s.parentSpanContext?.spanId, server!.spanContext().spanId);
    const under = (parent: ReadableSpan, name: string) =>
      all.filter((s) => s.name === name && s.parentSpanContext?.spanId === parent.spanContext().spanId);
    assert.equal(under(byStep('classify'), 'gateway.upstream').length, 1);
    assert.equal(under(byStep('line'), 'gateway.upstream').length, 1);
    assert.equal(byStep('line').attributes['warmgate.pipeline.deployment'], 'demo');
    // Order by when spans ended (the exporter keeps it), not by timestamps: each span's clock is its own.
    const ended = (span: ReadableSpan) => all.indexOf(span);
    const lineChildren = all.filter(
      (s) => s.parentSpanContext?.spanId === byStep('line').spanContext().spanId,
    );
    assert.ok(lineChildren.length > 0);
    for (const child of lineChildren)
      assert.ok(
        ended(child) > ended(byStep('classify')),
        `line reads classify: its ${child.name} comes after`,
      );
  });

  it('runs independent steps at once', async () => {
    const spec = {
      name: 'both',
      kind: 'pipeline',
      steps: {
        classify: { deployment: 'classifier', inputs: { features: '$.request.features' } },
        line: { deployment: 'demo', inputs: { max_tokens: 8, temperature: 0 }, prompt: 'JULIET:\n' },
      },
      output: '$.steps.classify.outputs',
    };
    assert.equal((await deploy(spec)).status, 201);
    spans.reset();
    const r = await call('POST', '/v1/functions/both', { features: FEATURES[0] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body.probabilities as number[][])[0]!.length, 3);
    await telemetry.flush();
    const steps = await eventually(
      'both step spans',
      async () => {
        await telemetry.flush();
        return spans.getFinishedSpans().filter((s) => s.name === 'pipeline.step');
      },
      (found) => found.length === 2,
    );
    // Both steps' bodies were checked (gateway.validate, before any I/O) before either step ended.
    const all = spans.getFinishedSpans();
    const firstStepEnd = Math.min(...steps.map((st) => all.indexOf(st)));
    for (const st of steps) {
      const validate = all.find(
        (x) => x.name === 'gateway.validate' && x.parentSpanContext?.spanId === st.spanContext().spanId,
      )!;
      assert.ok(
        all.indexOf(validate) < firstStepEnd,
        `${String(st.attributes['warmgate.pipeline.step'])} started before the other ended`,
      );
    }
    const streamed = await call('POST', '/v1/functions/both', { features: FEATURES[0], stream: true });
    assert.equal(streamed.status, 400);
    assert.equal(streamed.body.error!.param, 'stream');
  });

  it('releases a streaming output step when another step fails', async () => {
    const spec = {
      name: 'stream-then-fail',
      kind: 'pipeline',
      steps: {
        warm: { deployment: 'demo', inputs: { max_tokens: 8, temperature: 0 }, prompt: 'ROMEO:\n' },
        // `outputs` is only there when n > 1: this step fails once warm has answered.
        classify: { deployment: 'classifier', inputs: { features: '$.steps.warm.outputs' } },
        line: { deployment: 'demo', inputs: { max_tokens: 48, temperature: 0 }, prompt: 'JULIET:\n' },
      },
      output: '$.steps.line',
    };
    assert.equal((await deploy(spec)).status, 201);
    const r = await call('POST', '/v1/functions/stream-then-fail', { stream: true });
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.match(r.body.error!.message, /step 'classify'.*did not answer/);
    const gate = p.gateway.gateway.context.gate('demo');
    await eventually(
      'demo to hold no request',
      async () => gate.inFlight,
      (n) => n === 0,
    );
  });

  it("puts its demand on each step's deployment, which the controller reads; the pipeline gets no pool", async () => {
    const now = Date.now() + 2000;
    using clock = new FakeClock(now);
    const feed = new MemoryDemandFeed({ store: history });
    const c = new Controller({
      deployments: () => p.gateway.deployments.list(),
      demand: () => ({ inUse: 0, queued: 0 }),
      provider: new FakeProvider(clock),
      clock,
      feed,
    });
    try {
      await c.tick(now);
      const arrivals = (name: string) => feed.history(name)?.totalArrivals ?? 0;
      assert.ok(arrivals('classifier') >= arrivals('demo'), 'every pipeline call classifies');
      const series = await history.series('speaker-line', now - 600_000, now, 600_000);
      const piped = series.reduce((n, b) => n + b.arrivals, 0);
      const bySeries = async (name: string) =>
        (await history.series(name, now - 600_000, now, 600_000)).reduce((n, b) => n + b.arrivals, 0);
      assert.ok(piped >= 5, `the pipeline's own history: ${piped}`);
      assert.equal(arrivals('classifier'), await bySeries('classifier'));
      assert.equal(arrivals('demo'), await bySeries('demo'));
      assert.ok(
        arrivals('demo') >= piped,
        "each pipeline call that got past classify is an arrival of demo's",
      );
      assert.deepEqual(
        c
          .status()
          .map((s) => s.deployment)
          .sort(),
        ['classifier', 'demo'],
      );
    } finally {
      await c.close();
    }
  });
});
