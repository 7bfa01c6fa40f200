import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { createInstanceApp } from '../../../runtime/instance/app.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { Reference } from '../../support/reference.ts';
import { spawnInstance } from './helpers.ts';

const root = new URL('../../../runtime/models/', import.meta.url).pathname;

async function listen(inst: RuntimeInstance): Promise<{ url: string; server: ServerType }> {
  const server = serve({ fetch: createInstanceApp(inst).fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function until(f: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A counter's value in Prometheus text, summed over the samples whose labels include `labels` (0 if none). */
function counter(text: string, name: string, labels: string): number {
  let sum = 0;
  for (const m of text.matchAll(/^([a-z_]+)(\{[^}]*\})? (\S+)$/gm)) {
    if (m[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
  }
  return sum;
}

interface Load {
  running: number;
  kvFreeBlocks: number;
  kvTotalBlocks: number;
}
interface ErrorBody {
  error: { code: string };
}
const json = async <T>(res: Response | Promise<Response>): Promise<T> => (await (await res).json()) as T;

const post = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });

describe('runtime instance over HTTP (generative, tiny model)', { timeout: 60_000 }, () => {
  const inst = new RuntimeInstance({
    modelDir: `${root}tiny`,
    kind: 'generative',
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
    drainTimeoutMs: 5000,
  });
  let url = '';
  let server: ServerType;
  before(async () => {
    ({ url, server } = await listen(inst));
    assert.equal((await fetch(`${url}/live`)).status, 200, 'alive while loading');
    await inst.start();
  });
  after(async () => {
    server.close();
    await inst.stop();
  });

  it('is ready after warm-up and streams greedy tokens equal to the full-recompute reference', async () => {
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    const prompt = [...Buffer.from('Hello, instance')];
    const t0 = performance.now();
    const res = await post(`${url}/generate`, {
      prompt,
      params: { temperature: 0, maxTokens: 12, ignoreEos: true },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const events = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const elapsedMs = performance.now() - t0;
    const tokens = events.filter((e) => e.type === 'token').map((e) => e.token);
    const ref = await Reference.open(inst.engine!.model);
    const eos = inst.engine!.model.manifest.tokenizer.eos_token_id;
    assert.deepEqual(tokens, await ref.greedyIgnoringEos(prompt, 12, eos));
    await ref.release();
    assert.equal(events.at(-1).type, 'finish');
    assert.equal(events.at(-1).reason, 'length');
    // The engine's timing rides on the finish: a caller reading the answer whole still knows it.
    const { ttftMs, decodeMs } = events.at(-1).timing as { ttftMs: number; decodeMs: number };
    assert.ok(ttftMs > 0 && decodeMs > 0, `ttft ${ttftMs} ms, decode ${decodeMs} ms`);
    assert.ok(ttftMs + decodeMs < elapsedMs, 'within what the request took end to end');
  });

  it('a client that leaves mid-stream gets its request aborted, short of its tokens, and its blocks freed', async () => {
    const maxTokens = 200;
    const before = await fetch(`${url}/metrics`).then((r) => r.text());
    const ctl = new AbortController();
    const res = await post(
      `${url}/generate`,
      { prompt: 'abort me', params: { temperature: 0, maxTokens, ignoreEos: true } },
      ctl.signal,
    );
    const reader = res.body!.getReader();
    await reader.read(); // the first event arrived: the request is running
    ctl.abort();
    await until(async () => {
      const load = await json<Load>(fetch(`${url}/load`));
      return load.running === 0 && load.kvFreeBlocks === load.kvTotalBlocks;
    }, 'the aborted request to free its blocks');
    // A broken abort would also free the blocks, once all 200 tokens were generated: the request must
    // have ended as aborted, short of its tokens.
    const after = await fetch(`${url}/metrics`).then((r) => r.text());
    const delta = (name: string, labels = '') => counter(after, name, labels) - counter(before, name, labels);
    assert.equal(delta('warmgate_runtime_requests_total', 'status="aborted"'), 1);
    assert.equal(delta('warmgate_runtime_requests_total', 'status="ok"'), 0);
    const generated = delta('warmgate_runtime_tokens_generated_total');
    assert.ok(generated >= 1 && generated < maxTokens, `${generated} of ${maxTokens} tokens generated`);
  });

  const bad: [string, RequestInit, number, string][] = [
    [
      'malformed JSON',
      { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_json',
    ],
    [
      'a prompt of the wrong type',
      { method: 'POST', body: JSON.stringify({ prompt: 5 }) },
      400,
      'invalid_request',
    ],
    [
      'bad sampling params',
      { method: 'POST', body: JSON.stringify({ prompt: 'x', params: { temperature: 9 } }) },
      400,
      'invalid_sampling_params',
    ],
    [
      'a prompt over the context',
      { method: 'POST', body: JSON.stringify({ prompt: 'x'.repeat(300), params: {} }) },
      400,
      'context_length_exceeded',
    ],
  ];
  for (const [name, init, status, code] of bad) {
    it(`answers ${name} with ${status} ${code}`, async () => {
      const res = await fetch(`${url}/generate`, init);
      assert.equal(res.status, status);
      assert.equal((await json<ErrorBody>(res)).error.code, code);
    });
  }

  it('drain: stops admitting, reports not ready, and lets in-flight requests finish', async () => {
    const inflight = post(`${url}/generate`, {
      prompt: 'finish me',
      params: { temperature: 0, maxTokens: 30, ignoreEos: true },
    });
    await until(async () => (await json<Load>(fetch(`${url}/load`))).running > 0, 'the request to start');
    assert.equal((await fetch(`${url}/drain`, { method: 'POST' })).status, 202);
    assert.equal((await fetch(`${url}/ready`)).status, 503);
    assert.equal((await post(`${url}/generate`, { prompt: 'late', params: {} })).status, 503);
    const events = (await (await inflight).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(events.at(-1).reason, 'length');
    assert.equal(events.filter((e) => e.type === 'token').length, 30);
  });
});

describe('runtime instance over HTTP (tensor, classifier)', { timeout: 30_000 }, () => {
  const inst = new RuntimeInstance({ modelDir: `${root}classifier`, kind: 'tensor' });
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

  it('answers tensor inference and refuses a bad shape with invalid_tensor', async () => {
    const data = Array.from({ length: 32 }, (_, i) => (i % 16) / 16);
    const ok = await post(`${url}/infer`, { inputs: [{ name: 'features', shape: [2, 16], data }] });
    assert.equal(ok.status, 200);
    const out = (await json<{ outputs: { shape: number[]; data: number[] }[] }>(ok)).outputs[0]!;
    assert.deepEqual(out.shape, [2, 3]);
    for (const row of [out.data.slice(0, 3), out.data.slice(3)]) {
      assert.ok(
        Math.abs(row.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5,
        'a probability row sums to 1',
      );
    }
    const bad = await post(`${url}/infer`, {
      inputs: [{ name: 'features', shape: [1, 3], data: [1, 2, 3] }],
    });
    assert.equal(bad.status, 400);
    assert.equal((await json<ErrorBody>(bad)).error.code, 'invalid_tensor');
  });
});

describe('runtime instance process', { timeout: 60_000 }, () => {
  it('serves after warm-up and exits 0 on SIGTERM after draining', async () => {
    const child = spawnInstance([], ['ignore', 'pipe', 'inherit']);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await until(async () => out.includes('instance ready'), 'the instance to be ready', 30_000);
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(out)![1];
      assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
