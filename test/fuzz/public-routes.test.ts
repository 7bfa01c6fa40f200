// Property-based fuzzing of every public route over real HTTP: fast-check generates 10,000+ malformed
// and hostile requests (see requests.ts), sent 16 at a time to an in-process gateway in front of real
// instance processes of the tiny generative model and the classifier. Each answer must come (no hang),
// be under 500 (the only 5xx the catalog allows for a request are capacity answers with Retry-After),
// and carry a catalog code when it is a 4xx. Afterwards the gateway and both instances serve normally,
// hold nothing, and the gateway's heap is back near where it was before the run.
// Reproduce a failure with FUZZ_SEED=<seed printed in the failure>.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Pool } from 'undici';
import { ERROR_CODES } from '../../gateway/errors/index.ts';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import { eventually, instanceLoad } from '../e2e/observe.ts';
import { type FuzzRequest, fuzzRequest, instanceGenerateBody, instanceInferBody } from './requests.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 16;
/** Generated bodies sent straight to each instance's internal API. */
const INSTANCE_RUNS = Number(process.env.FUZZ_INSTANCE_RUNS ?? 2000);
/** Not a performance bound: an answer that takes this long is a hang. */
const ANSWER_BOUND_MS = 30_000;
/** Heap growth allowed across the run, after collection: a leak of a few hundred bytes a request trips it. */
const HEAP_MARGIN = 24 * 2 ** 20;

const SAY = deployment('say', 'generative', 'tiny', {
  inputSchema: {
    type: 'object',
    required: ['text'],
    properties: { text: {}, max_tokens: { type: 'integer' }, stream: { type: 'boolean' } },
    additionalProperties: false,
  },
  promptTemplate: 'Say: {{text}}\n',
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (o?: { type: 'major'; execution: 'sync' }) => void;

/** heapUsed after full collections (several: finalizers and weak maps free more on the next pass). */
async function settledHeap(): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    least = Math.min(least, process.memoryUsage().heapUsed);
  }
  return least;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

async function send(pool: Pool, r: FuzzRequest): Promise<Answer> {
  const raw = r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  const body = raw === undefined ? undefined : r.chunked ? Readable.from([raw]) : raw;
  // A timer cleared with the answer (AbortSignal.timeout's would keep every request alive for the bound).
  const hung = new AbortController();
  const timer = setTimeout(
    () => hung.abort(new Error(`no answer in ${ANSWER_BOUND_MS} ms`)),
    ANSWER_BOUND_MS,
  );
  try {
    const res = await pool.request({
      path: r.path,
      method: r.method as 'GET',
      headers: r.headers,
      body,
      signal: hung.signal,
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with an answer, or null. */
function problem(r: FuzzRequest, a: Answer): string | null {
  if (a.status >= 500) {
    const capacity = a.status === 503 && a.headers['retry-after'] !== undefined;
    if (!capacity) return `${a.status} ${a.text.slice(0, 300)}`;
  }
  if (a.status >= 400 && r.method !== 'HEAD') {
    let code: unknown;
    try {
      const b = JSON.parse(a.text) as { error?: { code?: unknown }; code?: unknown };
      code = typeof b.error === 'object' ? b.error?.code : b.code;
    } catch {
      return `${a.status} without a JSON body: ${a.text.slice(0, 200)}`;
    }
    if (!ERROR_CODES.includes(code as never))
      return `${a.status} with no catalog code: ${a.text.slice(0, 200)}`;
  }
  return null;
}

const show = (r: FuzzRequest) =>
  JSON.stringify({ ...r, body: r.body && Buffer.from(r.body).toString('utf8', 0, 500) });

describe('fuzzing every public route', { timeout: 300_000 }, () => {
  let p: Platform;
  let pool: Pool;

  before(async () => {
    p = await startPlatform({
      bodyLimitBytes: 256 * 1024,
      inputLimits: { maxPromptTokens: 200, maxTokens: 16, maxN: 2 },
      deployments: [
        { spec: deployment('tiny', 'generative', 'tiny') },
        { spec: deployment('cls', 'tensor', 'classifier') },
        { spec: SAY, instances: 0 },
      ],
    });
    const tiny = p.instances.find((i) => i.deployment === 'tiny')!;
    await p.gateway.gateway.registry.add('say', tiny.launched.url);
    pool = new Pool(p.url, { connections: CONCURRENCY });
  });
  after(async () => {
    await pool?.close();
    await p?.close();
  });

  it('the heap check trips on a leak', async () => {
    const before = await settledHeap();
    // What a leak looks like: a few KiB kept per request of the run, as small objects.
    const leak = Array.from({ length: 1_000_000 }, (_, i) => ({ i, at: `${i}` }));
    const grown = await settledHeap();
    assert.ok(
      grown > before + HEAP_MARGIN,
      `a leak of ${leak.length} objects read as ${(grown - before) >> 20} MiB`,
    );
    leak.length = 0;
  });

  it(`${RUNS} generated requests: no 5xx, no hang, a catalog code on every 4xx, memory back`, async () => {
    // Bodies as bytes from the start: encoding them during the run would count as the gateway's growth.
    const requests = fc
      .sample(fuzzRequest, { numRuns: RUNS, seed: SEED })
      .map((r) => (typeof r.body === 'string' ? { ...r, body: Buffer.from(r.body) } : r));
    // Warm up (JIT, pools, lazily built tables) before the baseline, with requests of the same kinds.
    const warm = fc.sample(fuzzRequest, { numRuns: 400, seed: SEED + 1 });
    for (const r of warm) await send(pool, r).catch(() => undefined);
    const baseline = await settledHeap();

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        let a: Answer;
        try {
          a = await send(pool, r);
        } catch (e) {
          failures.push(`no answer (${(e as Error).message}): ${show(r)}`);
          continue;
        }
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        const wrong = problem(r, a);
        if (wrong) failures.push(`${wrong}\n  for ${show(r)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(failures.slice(0, 5), [], `seed ${SEED}: ${failures.length} failures`);
    const ok = [...statuses].filter(([s]) => s < 300).reduce((a, [, n]) => a + n, 0);
    // The generators reach past validation: some requests must really have been served.
    assert.ok(ok > RUNS / 50, `only ${ok} of ${RUNS} were served: ${JSON.stringify([...statuses])}`);

    // Still serving, nothing held at either instance.
    const c = await send(pool, {
      method: 'POST',
      path: '/v1/completions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'Hello', max_tokens: 2 }),
    });
    assert.equal(c.status, 200, c.text);
    const t = await send(pool, {
      method: 'POST',
      path: '/v2/models/cls/infer',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'features', shape: [1, 16], datatype: 'FP32', data: Array(16).fill(0.5) }],
      }),
    });
    assert.equal(t.status, 200, t.text);
    for (const i of p.instances) {
      await eventually(
        `${i.deployment} holds nothing`,
        () => instanceLoad(i.launched.url),
        (l) =>
          l.outstanding === 0 &&
          (l.running ?? 0) === 0 &&
          (l.waiting ?? 0) === 0 &&
          l.kvFreeBlocks === l.kvTotalBlocks,
      );
    }
    const afterRun = await settledHeap();
    console.log(
      `fuzz seed ${SEED}: ${JSON.stringify(Object.fromEntries(statuses))}; heap ${(baseline / 2 ** 20).toFixed(1)} -> ${(afterRun / 2 ** 20).toFixed(1)} MiB`,
    );
    assert.ok(
      afterRun < baseline + HEAP_MARGIN,
      `heap ${(afterRun / 2 ** 20).toFixed(1)} MiB after, ${(baseline / 2 ** 20).toFixed(1)} MiB before`,
    );
  });

  it('the same bodies straight to the instances: 4xx, never 5xx, and they still serve', async () => {
    const sampled = (arb: fc.Arbitrary<string>) =>
      fc.sample(arb, { numRuns: INSTANCE_RUNS / 2, seed: SEED + 2 }).map((b) => Buffer.from(b));
    const gatewayBodies = fc
      .sample(fuzzRequest, { numRuns: INSTANCE_RUNS / 2, seed: SEED + 3 })
      .flatMap((r) => (r.body === undefined ? [] : [r.body]));
    const failures: string[] = [];
    for (const i of p.instances) {
      const path = i.deployment === 'cls' ? '/infer' : '/generate';
      const bodies = [
        ...gatewayBodies,
        ...sampled(i.deployment === 'cls' ? instanceInferBody : instanceGenerateBody),
      ];
      const direct = new Pool(i.launched.url, { connections: 4 });
      try {
        let next = 0;
        const worker = async () => {
          while (next < bodies.length) {
            const r: FuzzRequest = {
              method: 'POST',
              path,
              headers: { 'content-type': 'application/json' },
              body: bodies[next++]!,
            };
            try {
              const a = await send(direct, r);
              if (a.status >= 500)
                failures.push(`${i.deployment}: ${a.status} ${a.text.slice(0, 200)} for ${show(r)}`);
            } catch (e) {
              failures.push(`${i.deployment}: no answer (${(e as Error).message}) for ${show(r)}`);
            }
          }
        };
        await Promise.all(Array.from({ length: 4 }, worker));
      } finally {
        await direct.close();
      }
    }
    assert.deepEqual(failures.slice(0, 5), [], `seed ${SEED}: ${failures.length} failures`);
    for (const i of p.instances) {
      const load = await instanceLoad(i.launched.url);
      assert.equal(load.state, 'ready');
    }
  });
});
