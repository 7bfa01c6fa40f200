// Property-based fuzzing of every public route over real HTTP: fast-check generates 10,000+ malformed
// and hostile requests (see requests.ts), sent 16 at a time to an in-process gateway in front of real
// instance processes of the tiny generative model and the classifier. Each answer must come (no hang),
// be under 500 (the only 5xx the catalog allows for a request are capacity answers with Retry-After),
// and carry a catalog code when it is a 4xx. Afterwards the gateway and both instances serve normally,
// hold nothing, and the memory the gateway keeps per request (the slope of its heap after full
// collections across the run, heap-growth.ts) stays under LEAK_BOUND; a companion test sends the same
// requests to a server that keeps a little of each and sees the same check trip.
// Reproduce a failure with FUZZ_SEED=<seed printed in the failure>.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Pool } from 'undici';
import { ERROR_CODES } from '../../gateway/errors/index.ts';
import { deployment, type Platform, startPlatform } from '../support/platform.ts';
import { eventually, instanceLoad } from '../e2e/observe.ts';
import { heapGrowth, showGrowth } from './heap-growth.ts';
import { type FuzzRequest, fuzzRequest, instanceGenerateBody, instanceInferBody } from './requests.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 16;
/** Generated bodies sent straight to each instance's internal API. */
const INSTANCE_RUNS = Number(process.env.FUZZ_INSTANCE_RUNS ?? 2000);
/** Not a performance bound: an answer that takes this long is a hang. */
const ANSWER_BOUND_MS = 30_000;
/** Memory kept per request (least-squares slope after full collections) that counts as a leak. */
const LEAK_BOUND = 256;
/** Parts of the run, with a reading of the settled heap after each (the slope is over the last five). */
const SEGMENTS = 6;

const SAY = deployment('say', 'generative', 'tiny', {
  inputSchema: {
    type: 'object',
    required: ['text'],
    properties: { text: {}, max_tokens: { type: 'integer' }, stream: { type: 'boolean' } },
    additionalProperties: false,
  },
  promptTemplate: 'Say: {{text}}\n',
});

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

/** The run's requests, as bytes from the start: encoding them during the run would count as growth. */
const generated = (runs: number, seed: number) =>
  fc
    .sample(fuzzRequest, { numRuns: runs, seed })
    .map((r) => (typeof r.body === 'string' ? { ...r, body: Buffer.from(r.body) } : r));

/** Sends `requests` CONCURRENCY at a time; an answer that never comes is a failure, as is `check`'s. */
async function sendAll(
  pool: Pool,
  requests: readonly FuzzRequest[],
  check: (r: FuzzRequest, a: Answer) => void,
  failures: string[],
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++]!;
      try {
        check(r, await send(pool, r));
      } catch (e) {
        failures.push(`no answer (${(e as Error).message}): ${show(r)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
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

  it('the leak check trips on a server that keeps a little of each request', async () => {
    // The same requests to a server that keeps a copy of each body's first LEAK_BOUND bytes.
    const kept: Buffer[] = [];
    const leaky = createServer((req, res) => {
      const head = Buffer.alloc(LEAK_BOUND);
      let at = 0;
      req.on('data', (c: Buffer) => (at += c.copy(head, at)));
      req.on('end', () => {
        kept.push(head);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => leaky.listen(0, '127.0.0.1', r));
    const leakyPool = new Pool(`http://127.0.0.1:${(leaky.address() as AddressInfo).port}`, {
      connections: CONCURRENCY,
    });
    try {
      const requests = generated(RUNS, SEED);
      const failures: string[] = [];
      await sendAll(leakyPool, generated(400, SEED + 1), () => undefined, failures);
      kept.length = 0;
      const growth = await heapGrowth(requests, SEGMENTS, (part) =>
        sendAll(leakyPool, part, () => undefined, failures),
      );
      assert.deepEqual(failures.slice(0, 3), []);
      // Requests node's parser refuses (e.g. oversized headers) never reach the handler.
      assert.ok(kept.length > requests.length * 0.8, `${kept.length} bodies kept`);
      console.log(`fuzz seed ${SEED}, the leaking server: ${showGrowth(growth)}`);
      assert.ok(
        growth.bytesPerRequest > LEAK_BOUND,
        `a leak of ${LEAK_BOUND} B/request read as ${showGrowth(growth)}`,
      );
    } finally {
      kept.length = 0;
      await leakyPool.close();
      await new Promise((r) => leaky.close(r));
    }
  });

  it(`${RUNS} generated requests: no 5xx, no hang, a catalog code on every 4xx, no memory kept`, async () => {
    const requests = generated(RUNS, SEED);
    // Warm up (JIT, pools, lazily built tables) before the first reading, with requests of the same kinds.
    const warm = fc.sample(fuzzRequest, { numRuns: 400, seed: SEED + 1 });
    for (const r of warm) await send(pool, r).catch(() => undefined);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const check = (r: FuzzRequest, a: Answer) => {
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      const wrong = problem(r, a);
      if (wrong) failures.push(`${wrong}\n  for ${show(r)}`);
    };
    const growth = await heapGrowth(requests, SEGMENTS, (part) => sendAll(pool, part, check, failures));
    assert.deepEqual(failures.slice(0, 5), [], `seed ${SEED}: ${failures.length} failures`);
    const ok = [...statuses].filter(([s]) => s < 300).reduce((a, [, n]) => a + n, 0);
    // The generators reach past validation: some requests must really have been served.
    assert.ok(ok > RUNS / 50, `only ${ok} of ${RUNS} were served: ${JSON.stringify([...statuses])}`);
    console.log(`fuzz seed ${SEED}: ${JSON.stringify(Object.fromEntries(statuses))}; ${showGrowth(growth)}`);
    assert.ok(growth.bytesPerRequest < LEAK_BOUND, `memory kept: ${showGrowth(growth)}`);

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
