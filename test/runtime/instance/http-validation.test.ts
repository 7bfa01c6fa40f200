import assert from 'node:assert/strict';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { ERROR_CATALOG, type ErrorCode } from '../../../runtime/errors/index.ts';
import { createInstanceApp } from '../../../runtime/instance/app.ts';
import { createStandbyApp } from '../../../runtime/instance/http/standby-app.ts';
import { launchInstance, type LaunchedInstance } from '../../../runtime/instance/launch.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { DynamicBatcher, loadTensorModel, type TensorModel } from '../../../runtime/tensor/index.ts';
import { MODELS } from './helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

/** A POST whose body is sent exactly as given (a string is not re-encoded as JSON). */
const postTo = (app: Hono, path: string, body: unknown) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** The answer is the catalog's status for `code`, with the instance's error body naming `field`. */
async function assertRefused(res: Response, code: ErrorCode, field?: string): Promise<ErrorBody> {
  const body = (await res.json()) as ErrorBody;
  assert.equal(body.error.code, code, body.error.message);
  assert.equal(res.status, ERROR_CATALOG[code].status);
  assert.equal(body.error.field, field);
  assert.ok(body.error.message.length > 0);
  return body;
}

describe(
  'instance routes refuse bad bodies with catalog codes (generative, tiny model)',
  { timeout: 60_000 },
  () => {
    const inst = new RuntimeInstance({
      modelDir: `${MODELS}tiny`,
      kind: 'generative',
      engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
    });
    const app = createInstanceApp(inst);
    before(() => inst.start());
    after(() => inst.stop());

    const cases: [string, unknown, ErrorCode, string?][] = [
      ['malformed JSON', '{nope', 'invalid_json'],
      ['a JSON null', 'null', 'invalid_json'],
      ['a JSON number', '5', 'invalid_json'],
      ['an array', '[]', 'invalid_request'],
      ['no prompt', {}, 'invalid_request', 'prompt'],
      ['a number for the prompt', { prompt: 5 }, 'invalid_request', 'prompt'],
      ['a fractional token id', { prompt: [1, 2.5] }, 'invalid_request', 'prompt.1'],
      ['a token id JSON turns into Infinity', '{"prompt":[1e999]}', 'invalid_request', 'prompt.0'],
      ['params that are not an object', { prompt: 'x', params: 5 }, 'invalid_sampling_params', ''],
      [
        'an unknown sampling field',
        { prompt: 'x', params: { bogus: 1 } },
        'invalid_sampling_params',
        'bogus',
      ],
      ['an empty prompt', { prompt: '' }, 'empty_prompt', 'prompt'],
      ['a token id outside the vocabulary', { prompt: [1_000_000] }, 'invalid_token', 'prompt'],
    ];
    for (const [what, body, code, field] of cases) {
      it(`POST /generate with ${what}: ${code}`, async () => {
        const res = await postTo(app, '/generate', body);
        await assertRefused(res, code, field);
        assert.ok(res.headers.get('x-warmgate-load'), 'a refusal carries the load report too');
      });
    }

    it('still accepts fields it has always ignored, and any priority', async () => {
      const res = await postTo(app, '/generate', {
        prompt: [1, 2],
        params: { maxTokens: 1 },
        priority: 'whatever',
        unknown: true,
      });
      assert.equal(res.status, 200);
      const events = (await res.text()).trim().split('\n');
      assert.equal(JSON.parse(events.at(-1)!).type, 'finish');
    });

    it('a body over the limit is body_too_large, and the connection is not reused', async () => {
      const small = createInstanceApp(inst, { bodyLimitBytes: 64 });
      const res = await postTo(small, '/generate', { prompt: 'x'.repeat(100) });
      await assertRefused(res, 'body_too_large');
      assert.equal(res.headers.get('connection'), 'close');
    });
  },
);

describe(
  'instance routes refuse bad bodies with catalog codes (tensor, classifier)',
  { timeout: 30_000 },
  () => {
    const inst = new RuntimeInstance({ modelDir: `${MODELS}classifier`, kind: 'tensor' });
    const logged: unknown[] = [];
    const app = createInstanceApp(inst, { log: (_m, e) => void logged.push(e) });
    let model: TensorModel;
    before(async () => {
      await inst.start();
      model = await loadTensorModel(`${MODELS}classifier`, 1);
    });
    after(async () => {
      await inst.stop();
      await model.release();
    });

    const row = Array.from({ length: 16 }, (_, i) => i / 16);
    const cases: [string, unknown, string?][] = [
      ['malformed JSON', '{nope'],
      ['no inputs', {}, 'inputs'],
      ['inputs that are not an array', { inputs: 'x' }, 'inputs'],
      ['an input without data', { inputs: [{ name: 'features', shape: [1, 16] }] }, 'inputs.0.data'],
      [
        'a negative dimension',
        { inputs: [{ name: 'features', shape: [-1, 16], data: row }] },
        'inputs.0.shape.0',
      ],
      [
        'a string in the data',
        { inputs: [{ name: 'features', shape: [1, 1], data: ['1'] }] },
        'inputs.0.data.0',
      ],
      [
        'a value JSON turns into Infinity',
        '{"inputs":[{"name":"f","shape":[1],"data":[1e999]}]}',
        'inputs.0.data.0',
      ],
      // Past the schema, the model's own checks (the batcher's): still invalid_tensor, with no field.
      ['a shape the model does not take', { inputs: [{ name: 'features', shape: [1, 3], data: [1, 2, 3] }] }],
      ['an unknown input name', { inputs: [{ name: 'nope', shape: [1, 16], data: row }] }],
      ['no inputs at all', { inputs: [] }],
    ];
    for (const [what, body, field] of cases) {
      it(`POST /infer with ${what}: invalid_tensor`, async () => {
        await assertRefused(await postTo(app, '/infer', body), 'invalid_tensor', field);
      });
    }

    it('still accepts fields it has always ignored (a datatype, say)', async () => {
      const res = await postTo(app, '/infer', {
        id: 'r1',
        inputs: [{ name: 'features', shape: [1, 16], datatype: 'FP32', data: row }],
      });
      assert.equal(res.status, 200);
      const out = (await res.json()) as { outputs: { shape: number[] }[]; batchRows: number };
      assert.deepEqual(out.outputs[0]!.shape, [1, 3]);
    });

    it('a failed ONNX Runtime call answers a logged 500 internal_error that reveals nothing', async () => {
      const healthy = inst.batcher;
      // A real batcher of the same model whose batch hook throws: its batch fails as a failed run would.
      inst.batcher = new DynamicBatcher(model, inst.batching, undefined, {
        onBatch: () => {
          throw new Error('secret detail of a failed run');
        },
      });
      try {
        const res = await postTo(app, '/infer', {
          inputs: [{ name: 'features', shape: [1, 16], data: row }],
        });
        const body = await assertRefused(res, 'internal_error');
        assert.doesNotMatch(body.error.message, /secret/);
        assert.equal(logged.length, 1);
        assert.match((logged[0] as Error).message, /secret detail/);
      } finally {
        inst.batcher = healthy;
      }
    });
  },
);

describe('instance routes while not ready', () => {
  const inst = new RuntimeInstance({ modelDir: `${MODELS}classifier`, kind: 'tensor' });
  const app = createInstanceApp(inst);
  after(() => inst.stop());

  it('refuses work and metadata with engine_draining (503) while loading', async () => {
    await assertRefused(await postTo(app, '/generate', { prompt: 'x' }), 'engine_draining');
    await assertRefused(await postTo(app, '/infer', { inputs: [] }), 'engine_draining');
    await assertRefused(await app.request('/metadata'), 'engine_draining');
    assert.equal((await app.request('/live')).status, 200);
    assert.equal((await app.request('/ready')).status, 503);
  });
});

describe('instance refusals over real HTTP', { timeout: 60_000 }, () => {
  const inst = new RuntimeInstance({
    modelDir: `${MODELS}tiny`,
    kind: 'generative',
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
  });
  const server = serve({
    fetch: createInstanceApp(inst, { bodyLimitBytes: 1024 }).fetch,
    hostname: '127.0.0.1',
    port: 0,
  });
  let url = '';
  before(async () => {
    if (!server.listening) await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await inst.start();
  });
  after(async () => {
    server.close();
    await inst.stop();
  });

  it('a bad prompt is 400 invalid_request as JSON; an oversize body is 413 and closes the connection', async () => {
    const bad = await fetch(`${url}/generate`, { method: 'POST', body: JSON.stringify({ prompt: 5 }) });
    assert.match(bad.headers.get('content-type') ?? '', /^application\/json/);
    await assertRefused(bad, 'invalid_request', 'prompt');
    const big = await fetch(`${url}/generate`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'x'.repeat(2048) }),
    });
    await assertRefused(big, 'body_too_large');
    assert.equal(big.headers.get('connection'), 'close');
  });
});

describe('a client still sending an oversized body reads the 413 (instance process, default limit)', () => {
  let instance: LaunchedInstance;
  let url = '';
  before(async () => {
    instance = await launchInstance({
      model: `${MODELS}tiny`,
      kind: 'generative',
      args: ['--intra-op-threads', '1', '--kv-mb', '8'],
    });
    url = instance.url;
  });
  after(() => instance?.stop());
  // Over DEFAULT_INSTANCE_BODY_LIMIT (32 MiB): refused on its Content-Length while fetch is still writing.
  const FORTY_MB = 40_000_000;

  it('fetch with a 40 MB body', async () => {
    const res = await fetch(`${url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x'.repeat(FORTY_MB - 13) }),
    });
    await assertRefused(res, 'body_too_large');
    assert.equal(res.headers.get('connection'), 'close');
  });

  it('a client that reads only once its whole body is sent, over a second, still reads the 413', async () => {
    // Closing with the body still arriving resets the connection, and a reset throws away what the client
    // had not read yet: the 413 itself. @hono/node-server drains a refused body for 500 ms on its own;
    // this body takes longer (1 MiB every 25 ms), so only the lingering close reads it to the end.
    const { hostname, port } = new URL(url);
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect({ port: Number(port), host: hostname });
      let out = '';
      s.pause();
      s.on('connect', async () => {
        s.write(
          'POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${FORTY_MB}\r\n\r\n`,
        );
        for (let left = FORTY_MB; left > 0 && !s.destroyed; left -= 2 ** 20) {
          await sleep(25);
          s.write(Buffer.alloc(Math.min(left, 2 ** 20), 0x78));
        }
        s.end(() => s.resume());
      });
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"code":"body_too_large"/);
  });

  it('fetch with a chunked body (counted as it arrives)', async () => {
    const chunk = new Uint8Array(2 ** 20).fill(0x78);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"prompt":"'));
        if (sent >= FORTY_MB) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    await assertRefused(res, 'body_too_large');
  });
});

describe('standby routes refuse bad assignments with catalog codes', () => {
  const assigned: string[][] = [];
  const app = createStandbyApp(
    () => true,
    (args) => {
      if (args.includes('--standby'))
        return { ok: false, code: 'invalid_assignment', message: 'no --standby' };
      if (assigned.length > 0) return { ok: false, code: 'already_assigned', message: 'has a model' };
      assigned.push(args);
      return { ok: true };
    },
  );

  const cases: [string, unknown, ErrorCode, string?][] = [
    ['malformed JSON', '{nope', 'invalid_assignment'],
    ['no args', {}, 'invalid_assignment', 'args'],
    ['args that are not strings', { args: ['--model', 5] }, 'invalid_assignment', 'args.1'],
    ['flags the process refuses', { args: ['--standby'] }, 'invalid_assignment'],
  ];
  for (const [what, body, code, field] of cases) {
    it(`POST /assign with ${what}: ${code}`, async () => {
      await assertRefused(await postTo(app, '/assign', body), code, field);
    });
  }

  it('takes one assignment (ignoring other fields, as always), then answers already_assigned (409)', async () => {
    const ok = await postTo(app, '/assign', { args: ['--model', 'm'], note: 'ignored' });
    assert.equal(ok.status, 202);
    assert.deepEqual(assigned, [['--model', 'm']]);
    await assertRefused(await postTo(app, '/assign', { args: ['--model', 'm'] }), 'already_assigned');
  });
});
