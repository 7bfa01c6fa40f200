import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import {
  type BatchingConfig,
  DynamicBatcher,
  loadTensorModel,
  type NamedTensor,
  takeBatch,
  type TensorModel,
} from '../../../runtime/tensor/index.ts';

const MODEL_DIR = new URL('../../../runtime/models/classifier', import.meta.url).pathname;

describe('takeBatch (pure, explicit time)', () => {
  const c: BatchingConfig = { maxBatchSize: 8, preferredBatchSizes: [4, 6], maxQueueDelayMs: 10 };
  it('waits while no preferred size is reachable and the oldest is young', () => {
    assert.equal(takeBatch([1, 1], 3, c), null);
    assert.equal(takeBatch([], 100, c), null);
  });
  it('cuts at the largest reachable preferred size', () => {
    assert.equal(takeBatch([2, 2, 1], 0, c), 2); // 4
    assert.equal(takeBatch([2, 2, 2, 1], 0, c), 3); // 6 beats 4
  });
  it('runs a full batch at once, never over maxBatchSize', () => {
    assert.equal(takeBatch([3, 3, 3, 3], 0, c), 2); // 6 is preferred and fits; 9 would not
    assert.equal(takeBatch([5, 5], 0, c), 1);
  });
  it('runs what fits once the oldest waited maxQueueDelayMs', () => {
    assert.equal(takeBatch([1, 1], 10, c), 2);
    assert.equal(takeBatch([3], 11, c), 1);
  });
});

describe('DynamicBatcher on the classifier', { timeout: 30_000 }, () => {
  let model: TensorModel;
  let alone: ort.InferenceSession;
  before(async () => {
    model = await loadTensorModel(MODEL_DIR, 1);
    alone = await ort.InferenceSession.create(`${MODEL_DIR}/model.onnx`, { intraOpNumThreads: 1 });
  });
  after(async () => {
    await model.release();
    await alone.release();
  });

  let seed = 7;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const request = (rows: number): NamedTensor => ({
    name: 'features',
    shape: [rows, 16],
    data: Float32Array.from({ length: rows * 16 }, rand),
  });

  it('stacks concurrent requests into fewer calls, and each result equals its unbatched result', async () => {
    const batcher = new DynamicBatcher(model, {
      maxBatchSize: 32,
      preferredBatchSizes: [16, 32],
      maxQueueDelayMs: 5,
    });
    const reqs = Array.from({ length: 60 }, (_, i) => request(1 + (i % 3)));
    const results = await Promise.all(reqs.map((r) => batcher.infer([r])));
    let calls = 0;
    for (const [rows, n] of batcher.batchSizes) {
      calls += n;
      assert.ok(rows <= 32, `a batch of ${rows} rows exceeds maxBatchSize`);
    }
    assert.ok(calls < reqs.length / 2, `expected batching, got ${calls} calls for ${reqs.length} requests`);
    for (const [i, r] of results.entries()) {
      assert.ok(r.ok);
      const ref = await alone.run({
        features: new ort.Tensor('float32', reqs[i]!.data, [...reqs[i]!.shape]),
      });
      const want = ref.probabilities!.data as Float32Array;
      const got = r.outputs[0]!;
      assert.deepEqual(got.shape, [reqs[i]!.shape[0], 3]);
      for (let k = 0; k < want.length; k++)
        assert.ok(Math.abs(got.data[k]! - want[k]!) < 1e-6, `request ${i} value ${k}`);
    }
  });

  it('a lone request runs once the queue delay passes', async () => {
    const batcher = new DynamicBatcher(model, {
      maxBatchSize: 32,
      preferredBatchSizes: [16],
      maxQueueDelayMs: 3,
    });
    const r = await batcher.infer([request(1)]);
    assert.ok(r.ok);
    assert.equal(r.batchRows, 1);
  });

  const bad: [string, NamedTensor[], RegExp][] = [
    ['wrong width', [{ name: 'features', shape: [1, 15], data: new Float32Array(15) }], /shape \[1, 15\]/],
    ['wrong rank', [{ name: 'features', shape: [16], data: new Float32Array(16) }], /takes \[n, 16\]/],
    ['too few values', [{ name: 'features', shape: [2, 16], data: new Float32Array(20) }], /needs 32/],
    [
      'unknown input',
      [{ name: 'pixels', shape: [1, 16], data: new Float32Array(16) }],
      /unknown input 'pixels'/,
    ],
    ['missing input', [], /'features' is missing/],
    ['too many rows', [{ name: 'features', shape: [64, 16], data: new Float32Array(64 * 16) }], /at most 32/],
  ];
  for (const [name, inputs, message] of bad) {
    it(`refuses ${name} with invalid_tensor and keeps serving`, async () => {
      const batcher = new DynamicBatcher(model, {
        maxBatchSize: 32,
        preferredBatchSizes: [],
        maxQueueDelayMs: 1,
      });
      const r = await batcher.infer(inputs);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.error.code === 'invalid_tensor');
      assert.match(!r.ok ? r.error.message : '', message);
      assert.ok((await batcher.infer([request(1)])).ok);
    });
  }
});
