// KServe v2 under concurrency: 64 concurrent /v2/models/{m}/infer requests with distinct seeded inputs
// (one or two rows each) through the gateway to one classifier instance process. Every answer must equal
// a direct onnxruntime-node session run one row at a time, and the instance's batch-size histogram must
// show that requests shared ONNX Runtime calls. Also the v2 health, readiness and metadata shapes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { prng, randInt } from '../support/engine-harness.ts';
import {
  ADMIN_HEADERS,
  deployment,
  MODELS,
  type Platform,
  SCALING,
  startPlatform,
} from '../support/platform.ts';
import { counterDelta, eventually, instanceLoad } from './observe.ts';

const MODEL = 'cls';
const REQUESTS = 64;
const WIDTH = 16;
const CLASSES = 3;
/**
 * The batch is cut when full (maxBatchSize rows queued) or when the oldest request has waited this long.
 * maxBatchSize is the rows of all the requests together, so one call takes them all once they have
 * arrived; the delay only bounds a batch if some arrive very late. (The instance's warm-up inference
 * goes through the batcher too, so its start waits this long once.)
 */
const MAX_QUEUE_DELAY_MS = 2000;

interface V2Output {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}
interface V2Response {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: V2Output[];
}

/** The requests' inputs: distinct, seeded, 1 or 2 rows each. */
function workload(seed: number): number[][][] {
  const rand = prng(seed);
  return Array.from({ length: REQUESTS }, () =>
    Array.from({ length: randInt(rand, 1, 2) }, () => Array.from({ length: WIDTH }, () => rand() * 6 - 3)),
  );
}

const INPUTS = workload(20261122);
const TOTAL_ROWS = INPUTS.reduce((a, rows) => a + rows.length, 0);

const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('KServe v2 inference under concurrency', { timeout: 60_000 }, () => {
  let p: Platform;
  let reference: ort.InferenceSession;
  let instanceUrl: string;
  before(async () => {
    [p, reference] = await Promise.all([
      startPlatform({
        deployments: [
          {
            spec: deployment(MODEL, 'tensor', 'classifier'),
            args: [
              '--max-batch-size',
              String(TOTAL_ROWS),
              '--max-queue-delay-ms',
              String(MAX_QUEUE_DELAY_MS),
            ],
          },
        ],
      }),
      ort.InferenceSession.create(`${MODELS}classifier/model.onnx`, { intraOpNumThreads: 1 }),
    ]);
    instanceUrl = p.instances[0]!.launched.url;
  });
  after(async () => {
    await p?.close();
    await reference?.release();
  });

  /** The classifier's probabilities for one row, from its own session (no batching, no gateway). */
  async function alone(row: readonly number[]): Promise<Float32Array> {
    const out = await reference.run({
      features: new ort.Tensor('float32', Float32Array.from(row), [1, WIDTH]),
    });
    return out.probabilities!.data as Float32Array;
  }

  it('answers each request as if it ran alone, and requests share ONNX Runtime calls', async (t) => {
    const before = await (await fetch(`${instanceUrl}/metrics`)).text();
    // The instance labels its metrics with the model's own name (model.json), not the deployment's.
    const labels = { model: (await getJson(`${instanceUrl}/load`)).body.model as string };

    const answers = await Promise.all(
      INPUTS.map(async (rows, i) => {
        const res = await fetch(`${p.url}/v2/models/${MODEL}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            id: `req-${i}`,
            inputs: [{ name: 'features', shape: [rows.length, WIDTH], datatype: 'FP32', data: rows }],
          }),
        });
        return { status: res.status, body: (await res.json()) as V2Response };
      }),
    );

    for (const [i, { status, body }] of answers.entries()) {
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.model_name, MODEL);
      assert.equal(body.model_version, '1');
      assert.equal(body.id, `req-${i}`, 'the request id comes back');
      assert.equal(body.outputs.length, 1);
      const out = body.outputs[0]!;
      const rows = INPUTS[i]!;
      assert.deepEqual(
        { name: out.name, shape: out.shape, datatype: out.datatype, values: out.data.length },
        {
          name: 'probabilities',
          shape: [rows.length, CLASSES],
          datatype: 'FP32',
          values: rows.length * CLASSES,
        },
      );
      for (const [r, row] of rows.entries()) {
        const want = await alone(row);
        for (let k = 0; k < CLASSES; k++) {
          const got = out.data[r * CLASSES + k]!;
          assert.ok(
            Math.abs(got - want[k]!) <= 1e-6,
            `request ${i} row ${r} class ${k}: ${got} batched, ${want[k]} alone`,
          );
        }
      }
    }

    const after = await (await fetch(`${instanceUrl}/metrics`)).text();
    const delta = (name: string, extra: Record<string, string> = {}) =>
      counterDelta(before, after, name, { ...labels, ...extra });
    const calls = delta('warmgate_runtime_batch_size_count');
    const rows = delta('warmgate_runtime_batch_size_sum');
    const singleRow = delta('warmgate_runtime_batch_size_bucket', { le: '1' });
    const upToTwo = delta('warmgate_runtime_batch_size_bucket', { le: '2' });
    t.diagnostic(`${REQUESTS} requests, ${TOTAL_ROWS} rows, ${calls} ONNX Runtime calls`);
    assert.equal(rows, TOTAL_ROWS, 'every row went through exactly one call');
    assert.ok(calls >= 1 && calls < REQUESTS, `${calls} calls for ${REQUESTS} requests`);
    assert.ok(calls - singleRow >= 1, 'calls with more than one row');
    // No request has more than 2 rows: a call with more holds several requests.
    assert.ok(calls - upToTwo >= 1, 'calls that stacked several requests');
    assert.equal(delta('warmgate_runtime_requests_total', { status: 'ok' }), REQUESTS);

    await eventually(
      'the instance idle',
      () => instanceLoad(instanceUrl),
      (l) => l.outstanding === 0,
    );
  });

  it('GET /v2/health/live and /v2/health/ready', async () => {
    assert.deepEqual(await getJson(`${p.url}/v2/health/live`), { status: 200, body: { live: true } });
    assert.deepEqual(await getJson(`${p.url}/v2/health/ready`), { status: 200, body: { ready: true } });
  });

  it('GET /v2/models/{m} answers the model metadata', async () => {
    assert.deepEqual(await getJson(`${p.url}/v2/models/${MODEL}`), {
      status: 200,
      body: {
        name: MODEL,
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, WIDTH] }],
        outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, CLASSES] }],
      },
    });
  });

  it('GET /v2/models/{m}/ready, and both readiness routes while a deployment has no instance', async () => {
    assert.deepEqual(await getJson(`${p.url}/v2/models/${MODEL}/ready`), {
      status: 200,
      body: { name: MODEL, ready: true },
    });
    // A deployment that wants an instance and has none yet: not ready, named as what is waited for.
    const cold = 'cls-cold';
    const put = await fetch(`${p.url}/admin/v1/deployments/${cold}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
      body: JSON.stringify({ kind: 'tensor', model: { path: `${MODELS}classifier` }, scaling: SCALING }),
    });
    assert.equal(put.status, 201);
    try {
      assert.deepEqual(await getJson(`${p.url}/v2/models/${cold}/ready`), {
        status: 503,
        body: { name: cold, ready: false },
      });
      assert.deepEqual(await getJson(`${p.url}/v2/health/ready`), {
        status: 503,
        body: { ready: false, waiting: [cold] },
      });
    } finally {
      assert.equal(
        (await fetch(`${p.url}/admin/v1/deployments/${cold}`, { method: 'DELETE', headers: ADMIN_HEADERS }))
          .status,
        204,
      );
    }
    assert.deepEqual(await getJson(`${p.url}/v2/health/ready`), { status: 200, body: { ready: true } });
  });
});
