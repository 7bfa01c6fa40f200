// Token quotas counted from real usage of the tiny model, and the per-key cap on requests in flight
// (streams included), over two gateways sharing one real redis-server: A with the instances, B bare (a
// refusal at admission needs no instance).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { ADMIN_HEADERS, deployment, type Platform, startPlatform } from '../../support/platform.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';
import { until } from '../../faults/support.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The usage chunk of a streamed chat completion (stream_options.include_usage). */
function usageOfStream(sse: string): Usage {
  const chunks = sse
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)) as { usage?: Usage | null });
  const usage = chunks.at(-1)?.usage;
  assert.ok(usage, 'the last chunk carries the usage');
  return usage;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

describe('key limits from real usage', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let p: Platform;
  let b: RunningGateway;
  let tinyUrl: string;
  /** A client of our own, to read what the limiter stored. */
  let direct: Redis;

  before(async () => {
    redis = await startRedisServer();
    p = await startPlatform({
      redisUrl: redis.url,
      apiKeys: 'required',
      deployments: [
        { spec: deployment('tiny', 'generative', 'tiny') },
        // No instance until the test adds one: requests wait in its queue, holding their place.
        { spec: deployment('held', 'generative', 'tiny'), instances: 0 },
      ],
    });
    tinyUrl = p.instances.find((i) => i.deployment === 'tiny')!.launched.url;
    b = await startGateway({ port: 0, redisUrl: redis.url, apiKeys: 'required', adminToken: 'b' });
    direct = new Redis(redis.url);
  });
  after(async () => {
    direct?.disconnect();
    await b?.close();
    await p?.close();
    await redis?.stop();
  });

  const createKeyWithId = async (limits: Record<string, number>) => {
    const res = await fetch(`${p.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'usage', limits }),
    });
    assert.equal(res.status, 201);
    return (await res.json()) as { key: string; id: string };
  };
  const createKey = async (limits: Record<string, number>) => (await createKeyWithId(limits)).key;
  /** The key's tokens in today's window, read from Redis where the limiter keeps them (0 if none yet). */
  const dayTokens = async (id: string) => Number((await direct.hget(`warmgate:limits:{${id}}`, 'dt')) ?? 0);
  const instanceTokensGenerated = async () => {
    const text = await (await fetch(`${tinyUrl}/metrics`)).text();
    const line = /^warmgate_runtime_tokens_generated_total\{[^}]*\}\s+(\S+)/m.exec(text);
    return line ? Number(line[1]) : 0;
  };
  const post = (base: string, key: string, path: string, body: unknown, signal?: AbortSignal) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  const COMPLETION = { model: 'tiny', prompt: 'ROMEO:', max_tokens: 6, temperature: 0 };
  const expect429 = async (res: Response, code: string) => {
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(res.status, 429, JSON.stringify(body));
    assert.equal(body.error.code, code);
    const after = Number(res.headers.get('retry-after'));
    assert.ok(Number.isInteger(after) && after >= 1, `Retry-After ${res.headers.get('retry-after')}`);
    return after;
  };

  /** Prompt + completion tokens of COMPLETION, as the gateway answers them. */
  let total = 0;

  it('counts exactly the usage the responses report, and refuses on either gateway once it is spent', async () => {
    const free = await createKey({});
    const first = await post(p.url, free, '/v1/completions', COMPLETION);
    assert.equal(first.status, 200);
    const usage = ((await first.json()) as { usage: Usage }).usage;
    assert.equal(usage.completion_tokens, 6);
    total = usage.total_tokens;
    assert.ok(total > 6);

    // Two requests' worth a day: the first two pass (the second starts below the quota), the third not.
    const key = await createKey({ tokensPerDay: 2 * total });
    for (let i = 0; i < 2; i++) {
      const res = await post(p.url, key, '/v1/completions', COMPLETION);
      assert.equal(res.status, 200, `request ${i}`);
      assert.deepEqual(((await res.json()) as { usage: Usage }).usage, usage);
    }
    await expect429(await post(b.url, key, '/v1/completions', COMPLETION), 'token_quota_exceeded');
    const after = await expect429(
      await post(p.url, key, '/v1/completions', COMPLETION),
      'token_quota_exceeded',
    );
    assert.ok(after <= 86_400);
  });

  it('a stream’s tokens count once it ends: exactly its usage, and the quota trips one request later', async () => {
    // Room for the stream and one more completion: only the stream's counted tokens make the second
    // completion the one refused (uncounted, both completions would fit).
    const STREAM = {
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    };
    const free = await createKey({});
    const streamUsage = usageOfStream(await (await post(p.url, free, '/v1/chat/completions', STREAM)).text());
    assert.ok(streamUsage.total_tokens > 0);

    const { key, id } = await createKeyWithId({ tokensPerDay: streamUsage.total_tokens + total });
    const res = await post(p.url, key, '/v1/chat/completions', STREAM);
    assert.equal(res.status, 200);
    assert.deepEqual(usageOfStream(await res.text()), streamUsage);
    // Counted when the stream ended, which the client sees a moment before the count lands.
    const counted = await until(
      async () => (await dayTokens(id)) || undefined,
      'the stream’s tokens counted',
    );
    assert.equal(counted, streamUsage.total_tokens, 'the day window holds exactly the stream’s usage');

    const second = await post(p.url, key, '/v1/completions', COMPLETION);
    assert.equal(second.status, 200, 'below the quota after the stream');
    await second.body?.cancel();
    await until(async () => ((await dayTokens(id)) > counted ? true : undefined), 'the completion counted');
    assert.equal(await dayTokens(id), streamUsage.total_tokens + total);
    await expect429(await post(b.url, key, '/v1/completions', COMPLETION), 'token_quota_exceeded');
  });

  it('a stream the client leaves counts its prompt and the tokens generated before it left', async () => {
    // Longer than any output the instance can give here (max_tokens below): a count without the prompt
    // cannot reach the lower bound, whatever arrived before the client left.
    const PROMPT = `${'JULIET: O Romeo, Romeo! wherefore art thou Romeo? '.repeat(2)}\nROMEO:`;
    const free = await createKey({});
    const probe = await post(p.url, free, '/v1/completions', {
      model: 'tiny',
      prompt: PROMPT,
      max_tokens: 1,
    });
    const promptTokens = ((await probe.json()) as { usage: Usage }).usage.prompt_tokens;
    const { key, id } = await createKeyWithId({ tokensPerDay: 100_000 });
    const generatedBefore = await instanceTokensGenerated();

    const abort = new AbortController();
    const maxTokens = 100;
    const res = await post(
      p.url,
      key,
      '/v1/completions',
      { model: 'tiny', prompt: PROMPT, max_tokens: maxTokens, stream: true },
      abort.signal,
    );
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    assert.ok((await reader.read()).value, 'a first chunk');
    abort.abort();

    // The instance stops once the gateway drops the upstream: it generated at least what the gateway
    // counted, and fewer than asked. The gateway counts what it received, so at least the one chunk read.
    // Read in this order: once nothing is outstanding the count is final. Read first, it could miss the
    // steps run before the abort landed (a fresh-clone run under load counted 18 of 20).
    const generated = await until(async () => {
      const l = (await (await fetch(`${tinyUrl}/load`)).json()) as { outstanding: number };
      if (l.outstanding !== 0) return undefined;
      return (await instanceTokensGenerated()) - generatedBefore;
    }, 'the instance done with the aborted request');
    // What an abandoned stream is charged: its prompt (counted at admission, whether or not the instance's
    // finish event arrived) and the output tokens the gateway received before the client left (at least
    // the one chunk read, at most what the instance generated). Read once the count has landed.
    const counted = await until(
      async () => (await dayTokens(id)) || undefined,
      'the abandoned stream counted',
    );
    assert.ok(generated < maxTokens, `the instance stopped early (${generated} tokens)`);
    assert.ok(
      counted >= promptTokens + 1 && counted <= promptTokens + generated,
      `${counted} counted: ${promptTokens} prompt + between 1 and ${generated} generated`,
    );
  });

  it('caps a key’s requests in flight across gateways; one ending admits another', async () => {
    const key = await createKey({ maxConcurrentRequests: 2 });
    const held = { model: 'held', prompt: 'ROMEO:', max_tokens: 4, stream: true };
    const aborts = [new AbortController(), new AbortController()];
    // Both wait in held's queue (no instance yet), each holding one of the key's two places.
    const waiting = aborts.map((c) => post(p.url, key, '/v1/completions', held, c.signal));
    const inFlight = () => p.gateway.gateway.context.gate('held').queued;
    const end = Date.now() + 10_000;
    while (inFlight() < 2) {
      assert.ok(Date.now() < end, 'both requests reached the queue');
      await sleep(20);
    }
    await expect429(await post(p.url, key, '/v1/completions', COMPLETION), 'too_many_concurrent_requests');
    await expect429(await post(b.url, key, '/v1/completions', COMPLETION), 'too_many_concurrent_requests');

    // The client leaves one: its place is given back.
    aborts[0]!.abort();
    await waiting[0]!.catch(() => undefined);
    const third = await untilAdmitted(() => post(p.url, key, '/v1/completions', COMPLETION));
    assert.equal(third.status, 200);
    await third.body?.cancel();

    // An instance arrives: the other streams to its end, and its place is given back too.
    await p.gateway.gateway.registry.add('held', tinyUrl);
    const streamed = await waiting[1]!;
    assert.equal(streamed.status, 200);
    assert.match(await streamed.text(), /\[DONE\]/);
    const fourth = await untilAdmitted(() =>
      fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }),
    );
    assert.equal(fourth.status, 200);
    await fourth.body?.cancel();
  });

  /** The place comes back when the response has ended, a moment after the client has seen it end. */
  async function untilAdmitted(send: () => Promise<Response>): Promise<Response> {
    const end = Date.now() + 5_000;
    for (;;) {
      const res = await send();
      if (res.status !== 429) return res;
      await res.body?.cancel();
      assert.ok(Date.now() < end, 'a place was given back');
      await sleep(50);
    }
  }
});
