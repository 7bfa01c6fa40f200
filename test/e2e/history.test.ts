// Every request the gateway serves lands in the request history, in Redis when the gateway has a Redis
// URL (a real redis-server here), and serving goes on while Redis is away.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHistoryStore } from '../../gateway/request-history/index.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import { until } from '../faults/support.ts';

const complete = (url: string, body: unknown) =>
  fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('request history through the gateway (Redis)', { timeout: 180_000 }, () => {
  let redis: RedisServer;
  let p: Platform | null = null;
  const t0 = Date.now();
  before(async () => {
    // Persisted, as a production Redis is: what was flushed before the outage is still there after it.
    redis = await startRedisServer({ persist: true });
    p = await startPlatform({
      redisUrl: redis.url,
      deployments: [{ spec: deployment('tiny', 'generative', 'tiny') }],
    });
  });
  after(async () => {
    await p?.close();
    await redis.stop();
  });

  it('records arrivals, token counts and outcomes; keeps serving while Redis is down', async () => {
    const prompts = ['first prompt', 'a second one', 'élan'];
    let output = 0;
    for (const prompt of prompts) {
      const res = await complete(p!.url, { model: 'tiny', prompt, max_tokens: 4, temperature: 0 });
      assert.equal(res.status, 200);
      output += ((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
    }
    const refused = await complete(p!.url, { model: 'tiny', prompt: 'x', max_tokens: 0 });
    assert.equal(refused.status, 400);

    await redis.kill(); // an outage; the hot path never waits on Redis: requests still succeed
    const during = await complete(p!.url, {
      model: 'tiny',
      prompt: 'while away',
      max_tokens: 2,
      temperature: 0,
    });
    assert.equal(during.status, 200);
    output += ((await during.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
    await redis.restart();

    // What was buffered while Redis was away is retried once it is back. The gateway's client comes back
    // after its reconnect backoff, which on a busy machine can outlast the few chances close() gives a
    // flush, so the test waits for the counts to land rather than racing it.
    const reader = createHistoryStore({ redisUrl: redis.url });
    try {
      const bucketMs = 60_000;
      const from = Math.floor(t0 / bucketMs) * bucketMs;
      // Every bucket from the test's start to now: on a busy machine the test can span minutes.
      const series = () =>
        reader.series('tiny', from, (Math.floor(Date.now() / bucketMs) + 1) * bucketMs, bucketMs);
      let buckets = await until(
        async () => {
          const b = await series();
          return b.reduce((a, x) => a + x.arrivals, 0) >= 5 ? b : undefined;
        },
        'the five arrivals in Redis after the outage',
        30_000,
      );
      await p!.close();
      p = null;
      buckets = await series();
      const sum = (k: 'arrivals' | 'promptTokens' | 'outputTokens' | 'errors' | 'ttftCount') =>
        buckets.reduce((a, b) => a + b[k], 0);
      assert.equal(sum('arrivals'), 5);
      assert.equal(sum('errors'), 1, 'the refused request counts as an error');
      const promptBytes = [...prompts, 'while away'].reduce((a, s) => a + Buffer.byteLength(s), 0);
      assert.equal(sum('promptTokens'), promptBytes);
      assert.equal(sum('outputTokens'), output);
      assert.equal(sum('ttftCount'), 4, 'a TTFT for each served request');
    } finally {
      await reader.close();
    }
  });
});
