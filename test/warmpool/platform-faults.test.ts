// The platform under faults, with real instance processes: a corrupt model artifact fails its deployment
// alone; an instance killed with SIGKILL mid-stream gives the client a clean error event and the pool
// is back at its target.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { LocalProvider } from '../../warmpool/index.ts';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { deployment, MODELS } from '../support/platform.ts';

const one = { minInstances: 1, maxInstances: 1, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 };

async function until<T>(what: string, f: () => T | null | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('warmgate platform under faults', { timeout: 90_000 }, () => {
  let wg: RunningWarmgate;
  const provider = new LocalProvider();
  const corrupt = mkdtempSync(join(tmpdir(), 'wg-corrupt-'));
  before(async () => {
    // A copy of the tiny model whose weights no longer match the sha256 in its model.json.
    cpSync(`${MODELS}tiny`, corrupt, { recursive: true });
    writeFileSync(join(corrupt, 'weights.bin'), Buffer.alloc(64, 7));
    wg = await startWarmgate({
      port: 0,
      tickMs: 100,
      provider,
      deployments: [
        deployment('tiny', 'generative', 'tiny', { scaling: one }),
        { ...deployment('broken', 'generative', 'tiny', { scaling: one }), model: { path: corrupt } },
      ],
    });
  });
  after(async () => {
    await wg?.close();
    rmSync(corrupt, { recursive: true, force: true });
  });

  const status = (name: string) => wg.controller.status().find((s) => s.deployment === name);

  it('a corrupt model artifact: that deployment reports why, the other keeps serving', async () => {
    const failure = await until(
      'the broken deployment to report a failure',
      () => status('broken')?.lastFailure,
    );
    assert.match(failure.reason, /model_file_corrupt|sha256/, failure.reason);
    await until('tiny to be routable', () => wg.gateway.gateway.registry.routable('tiny').length > 0);
    const client = new OpenAI({ baseURL: `${wg.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const c = await client.completions.create({ model: 'tiny', prompt: 'still here', max_tokens: 4 });
    assert.equal(c.choices.length, 1);
    assert.equal(wg.gateway.gateway.registry.routable('broken').length, 0);
  });

  it('SIGKILL mid-stream: a clean error event for the client, and the pool back at its target', async () => {
    const ready = await until('a ready tiny instance', () =>
      status('tiny')?.instances.find((i) => i.state === 'ready-idle' || i.state === 'serving'),
    );
    const client = new OpenAI({ baseURL: `${wg.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'a long one',
      max_tokens: 240,
      stream: true,
      temperature: 0,
    });
    let chunks = 0;
    let error: unknown = null;
    try {
      for await (const _ of stream) {
        if (++chunks === 2) process.kill(provider.pid(ready.id)!, 'SIGKILL');
      }
    } catch (e) {
      error = e;
    }
    assert.ok(
      error instanceof OpenAI.APIError,
      `the stream ended with an API error event, got ${String(error)}`,
    );
    // Bounded: the kill is seen at the next reconcile (100 ms ticks) and a tiny instance starts in about a
    // second here; 30 s leaves room for a loaded machine.
    await until('a replacement instance to be ready', () =>
      status('tiny')?.instances.some(
        (i) => i.id !== ready.id && (i.state === 'ready-idle' || i.state === 'serving'),
      ),
    );
    await until(
      'the replacement to be routable',
      () => wg.gateway.gateway.registry.routable('tiny').length === 1,
    );
    const c = await client.completions.create({ model: 'tiny', prompt: 'after', max_tokens: 4 });
    assert.equal(c.choices.length, 1);
  });
});
