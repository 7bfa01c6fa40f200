// The gateway's fault paths with real instance processes of the tiny model, each on its own small
// platform: an instance killed or draining under it, no ready instance (queue deadline, queue full,
// an instance arriving for a waiting request), the concurrency cap, a client leaving the queue. After
// each fault the gateway and the instances left must still serve a normal request.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { launchInstance, type LaunchedInstance } from '../../runtime/instance/launch.ts';
import { deployment, MODELS, type Platform, startPlatform } from '../support/platform.ts';
import { counterDelta, eventually, instanceLoad, metricsText, metricValue } from './observe.ts';

const MODEL = 'tiny';
const SPEC = deployment(MODEL, 'generative', 'tiny');
/** No poll between the fault and the requests: the gateway still believes a dead instance is ready. */
const NO_POLLING = 600_000;

const clientOf = (p: Platform) => new OpenAI({ baseURL: `${p.url}/v1`, apiKey: 'unused', maxRetries: 0 });

async function kill(l: LaunchedInstance): Promise<void> {
  const exited = once(l.process, 'exit');
  l.process.kill('SIGKILL');
  await exited;
}

/** How many upstream retries the gateway counted since `before` (its metrics text). */
async function retriesSince(p: Platform, before: string): Promise<number> {
  const after = await metricsText(p.url);
  return counterDelta(before, after, 'warmgate_gateway_upstream_retries_total', { model: MODEL });
}

/** One request of each kind (completions and chat, whole and streamed); each must succeed in full. */
async function normalRequests(client: OpenAI): Promise<void> {
  const c = await client.completions.create({ model: MODEL, prompt: 'fault ', max_tokens: 4 });
  assert.equal(c.choices[0]!.finish_reason, 'length');
  assert.equal(c.usage!.completion_tokens, 4);
  const reasons: (string | null)[] = [];
  const cs = await client.completions.create({ model: MODEL, prompt: 'fault ', max_tokens: 4, stream: true });
  for await (const chunk of cs) reasons.push(...chunk.choices.map((x) => x.finish_reason));
  assert.equal(reasons.at(-1), 'length');
  const chat = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'fault' }],
    max_tokens: 4,
  });
  assert.equal(chat.choices[0]!.finish_reason, 'length');
  const chatStream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'fault' }],
    max_tokens: 4,
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of chatStream) usage = chunk.usage;
  assert.equal(usage?.completion_tokens, 4);
}

async function assertHealthy(p: Platform): Promise<void> {
  const res = await fetch(`${p.url}/health`);
  assert.equal(res.status, 200);
  const r = await clientOf(p).completions.create({ model: MODEL, prompt: 'still here ', max_tokens: 2 });
  assert.equal(r.choices[0]!.finish_reason, 'length');
}

/** The refusal the openai client raises: its status, catalog code and Retry-After header. */
function refusal(e: unknown, status: number, code: string, retryAfter: string, message?: RegExp): true {
  assert.ok(e instanceof OpenAI.APIError, `expected an APIError, got ${String(e)}`);
  assert.equal(e.status, status);
  assert.equal(e.code, code);
  assert.equal(e.headers?.get('retry-after'), retryAfter);
  if (message) assert.match(e.message, message);
  return true;
}

describe('an instance killed under the gateway', () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({
      deployments: [{ spec: SPEC, instances: 2 }],
      routing: 'round-robin',
      pollIntervalMs: NO_POLLING,
    });
  });
  after(async () => {
    await p?.close();
  });

  it('requests that fail before their first byte are retried once on the other instance', async () => {
    const before = await metricsText(p.url);
    await kill(p.instances[0]!.launched);
    assert.ok(
      p.gateway.gateway.registry.instances(MODEL).every((i) => i.routable),
      'the gateway has not noticed the death: only the retry can cover it',
    );
    // Round-robin sends one of the first two requests to the dead instance.
    await normalRequests(clientOf(p));
    await normalRequests(clientOf(p));
    assert.equal(await retriesSince(p, before), 1, 'one retry, then the dead instance is out of routing');
    const health = p.gateway.gateway.registry.instances(MODEL).map((i) => i.health);
    assert.deepEqual(health.sort(), ['ready', 'unreachable']);
    await assertHealthy(p);
  });
});

describe('an instance killed mid-stream', () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({ deployments: [{ spec: SPEC, instances: 2 }] });
  });
  after(async () => {
    await p?.close();
  });

  it('the client gets an error event, not a stream cut short as if it had ended', async () => {
    const client = clientOf(p);
    const stream = await client.completions.create({
      model: MODEL,
      prompt: 'cut ',
      max_tokens: 200,
      stream: true,
    });
    const chunks = stream[Symbol.asyncIterator]();
    assert.equal((await chunks.next()).done, false);
    // Both paused, the one holding the stream is known for sure: the gateway counts what it sent where.
    const processes = p.instances.map((i) => i.launched.process);
    for (const proc of processes) proc.kill('SIGSTOP');
    try {
      const serving = p.gateway.gateway.registry.instances(MODEL).filter((i) => i.outstanding > 0);
      assert.equal(serving.length, 1, 'the stream is still open on one instance');
      await kill(p.instances.find((i) => i.launched.url === serving[0]!.url)!.launched);
    } finally {
      for (const proc of processes)
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGCONT');
    }
    await assert.rejects(
      async () => {
        for (let r = await chunks.next(); !r.done; r = await chunks.next());
      },
      (e) => {
        assert.ok(e instanceof OpenAI.APIError, `expected an APIError, got ${String(e)}`);
        assert.equal(e.code, 'upstream_failed');
        return true;
      },
    );
    await eventually(
      "the gateway's in-flight gauge returns to 0",
      () => metricsText(p.url),
      (t) => metricValue(t, 'warmgate_gateway_in_flight_requests', { model: MODEL }) === 0,
    );
    await normalRequests(client);
    await assertHealthy(p);
  });
});

describe('an instance draining under the gateway', () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({
      deployments: [{ spec: SPEC, instances: 2 }],
      routing: 'round-robin',
      pollIntervalMs: NO_POLLING,
    });
  });
  after(async () => {
    await p?.close();
  });

  it('new requests go to the other instance', async () => {
    const before = await metricsText(p.url);
    const drained = p.instances[0]!.launched.url;
    const res = await fetch(`${drained}/drain`, { method: 'POST' });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { state: 'draining' });
    await normalRequests(clientOf(p));
    await normalRequests(clientOf(p));
    // The draining instance refused one request (503 engine_draining) and the gateway moved it.
    assert.equal(await retriesSince(p, before), 1);
    const health = p.gateway.gateway.registry.instances(MODEL).map((i) => i.health);
    assert.deepEqual(health.sort(), ['draining', 'ready']);
    assert.equal((await instanceLoad(drained)).state, 'draining');
    await assertHealthy(p);
  });
});

describe('a deployment whose only instance is gone', () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({ deployments: [{ spec: SPEC, instances: 1 }], limits: { queueTimeoutMs: 300 } });
  });
  after(async () => {
    await p?.close();
  });

  it('requests wait in the queue, then get 503 no_capacity with Retry-After', async () => {
    await kill(p.instances[0]!.launched);
    const client = clientOf(p);
    const deadline = /within 300 ms/;
    await assert.rejects(
      client.completions.create({ model: MODEL, prompt: 'anyone? ', max_tokens: 4 }),
      (e) => refusal(e, 503, 'no_capacity', '2', deadline),
    );
    // A streamed request is refused the same way: nothing was sent before the refusal.
    await assert.rejects(
      client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'anyone?' }],
        max_tokens: 4,
        stream: true,
      }),
      (e) => refusal(e, 503, 'no_capacity', '2', deadline),
    );
    const text = await metricsText(p.url);
    assert.equal(metricValue(text, 'warmgate_gateway_queued_requests', { model: MODEL }), 0);
    assert.equal(metricValue(text, 'warmgate_gateway_in_flight_requests', { model: MODEL }), 0);
    assert.equal(metricValue(text, 'warmgate_gateway_ready_instances', { model: MODEL }), 0);
    assert.equal((await fetch(`${p.url}/health`)).status, 200);
    assert.deepEqual(
      (await client.models.list()).data.map((m) => m.id),
      [MODEL],
    );
  });
});

describe('the activator queue', () => {
  let p: Platform;
  let added: LaunchedInstance | null = null;
  before(async () => {
    p = await startPlatform({
      deployments: [{ spec: SPEC, instances: 0 }],
      limits: { maxQueued: 1, queueTimeoutMs: 60_000 },
    });
  });
  after(async () => {
    await added?.stop();
    await p?.close();
  });

  const queued = async () =>
    metricValue(await metricsText(p.url), 'warmgate_gateway_queued_requests', { model: MODEL });

  it('a client that leaves the queue is dropped from it', async () => {
    const ac = new AbortController();
    const leaving = clientOf(p).completions.create(
      { model: MODEL, prompt: 'never mind ', max_tokens: 4 },
      { signal: ac.signal },
    );
    await eventually('the request waits in the queue', queued, (n) => n === 1);
    ac.abort();
    await assert.rejects(leaving, OpenAI.APIUserAbortError);
    await eventually(
      'the queue and the in-flight gauge empty',
      () => metricsText(p.url),
      (t) =>
        metricValue(t, 'warmgate_gateway_queued_requests', { model: MODEL }) === 0 &&
        metricValue(t, 'warmgate_gateway_in_flight_requests', { model: MODEL }) === 0,
    );
  });

  it('a full queue refuses at once; an instance added later serves the waiting request', async () => {
    const client = clientOf(p);
    let settled = false;
    const waiting = client.completions
      .create({
        model: MODEL,
        prompt: 'wait for me ',
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
      })
      .finally(() => (settled = true));
    await eventually('the first request waits in the queue', queued, (n) => n === 1);

    await assert.rejects(client.completions.create({ model: MODEL, prompt: 'me too ', max_tokens: 4 }), (e) =>
      refusal(e, 503, 'no_capacity', '2', /already waiting/),
    );
    assert.equal(settled, false, 'the queue-full refusal came while the first request still waited');

    added = await launchInstance({
      model: `${MODELS}tiny`,
      kind: 'generative',
      args: ['--intra-op-threads', '1', '--kv-mb', '8'],
    });
    await p.gateway.gateway.registry.add(MODEL, added.url);
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of await waiting) {
      text += chunk.choices[0]?.text ?? '';
      usage = chunk.usage;
    }
    assert.equal(usage?.completion_tokens, 6);
    assert.ok(text.length > 0);
    assert.equal(await queued(), 0);
    await normalRequests(client);
  });
});

describe('the concurrency cap', () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({ deployments: [{ spec: SPEC, instances: 1 }], limits: { maxConcurrency: 1 } });
  });
  after(async () => {
    await p?.close();
  });

  it('a second request while one streams gets 429 concurrency_limit; the first completes', async () => {
    const client = clientOf(p);
    const instance = p.instances[0]!.launched;
    const maxTokens = 200;
    const first = await client.completions.create({
      model: MODEL,
      prompt: 'hold on ',
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = first[Symbol.asyncIterator]();
    let text = '';
    const head = await chunks.next();
    assert.equal(head.done, false);
    text += head.value.choices[0]?.text ?? '';
    // Paused, the instance holds the stream open for as long as the test needs.
    instance.process.kill('SIGSTOP');
    try {
      const inFlight = metricValue(await metricsText(p.url), 'warmgate_gateway_in_flight_requests', {
        model: MODEL,
      });
      assert.equal(inFlight, 1, 'the first stream is still open at the gateway');
      await assert.rejects(
        client.completions.create({ model: MODEL, prompt: 'me too ', max_tokens: 4 }),
        (e) => refusal(e, 429, 'concurrency_limit', '1'),
      );
    } finally {
      instance.process.kill('SIGCONT');
    }
    let usage: OpenAI.CompletionUsage | null | undefined;
    const reasons: (string | null)[] = [];
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) {
      text += r.value.choices[0]?.text ?? '';
      reasons.push(...r.value.choices.map((c) => c.finish_reason));
      usage = r.value.usage;
    }
    assert.equal(usage?.completion_tokens, maxTokens);
    assert.equal(reasons.at(-1), 'length');
    const whole = await client.completions.create({
      model: MODEL,
      prompt: 'hold on ',
      max_tokens: maxTokens,
      temperature: 0,
    });
    assert.equal(text, whole.choices[0]!.text, 'the paused stream resumed where it was');
    await assertHealthy(p);
  });
});
