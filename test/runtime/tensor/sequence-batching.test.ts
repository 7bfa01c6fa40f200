// The sequence batcher on the recurrent demo model: sequences served one step per request, interleaved
// and batched together, must equal each sequence run whole in one call of ONNX's RNN operator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type ort from 'onnxruntime-node';
import {
  DynamicBatcher,
  loadTensorModel,
  SequenceBatcher,
  type SequenceConfig,
  type SequenceResult,
  type TensorModel,
} from '../../../runtime/tensor/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import {
  maxDiff,
  openRecurrentReference,
  RECURRENT_DIR,
  RECURRENT_INPUT,
  sequenceInputs,
  unrolled,
} from '../../support/recurrent-reference.ts';

const CONFIG: SequenceConfig = {
  state: [{ input: 'state_in', output: 'state_out' }],
  idleTimeoutMs: 1000,
  maxSequences: 8,
};
const x = (row: readonly number[]) => [
  { name: 'x', shape: [1, RECURRENT_INPUT], data: Float32Array.from(row) },
];

function y(r: SequenceResult): number[] {
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(
    r.outputs.map((o) => o.name),
    ['y'],
    'the state output stays on the instance',
  );
  return Array.from(r.outputs[0]!.data);
}

describe('SequenceBatcher on the recurrent model', { timeout: 30_000 }, () => {
  let model: TensorModel;
  let reference: ort.InferenceSession;
  before(async () => {
    [model, reference] = await Promise.all([loadTensorModel(RECURRENT_DIR, 1), openRecurrentReference()]);
  });
  after(async () => {
    await model?.release();
    await reference?.release();
  });

  it('serves interleaved sequences step by step, batched across sequences, as the whole-sequence run', async () => {
    using clock = new FakeClock(0);
    const SEQS = 4;
    const STEPS = 6;
    // A batch is cut when every sequence's step is queued: each call holds one row per sequence.
    const rows = new DynamicBatcher(model, {
      maxBatchSize: SEQS,
      preferredBatchSizes: [],
      maxQueueDelayMs: 60_000,
    });
    const seq = new SequenceBatcher(rows, model.manifest, CONFIG, clock);
    const inputs = Array.from({ length: SEQS }, (_, s) => sequenceInputs(100 + s, STEPS));
    // Every request of every sequence at once: a sequence's requests still run in order, one at a time.
    const answers = await Promise.all(
      inputs.map((xs, s) =>
        Promise.all(
          xs.map((row, t) => seq.infer({ id: `s${s}`, start: t === 0, end: t === STEPS - 1 }, x(row))),
        ),
      ),
    );
    for (const [s, xs] of inputs.entries()) {
      const want = await unrolled(reference, xs);
      assert.ok(maxDiff(answers[s]!.map(y), want) < 1e-5, `sequence ${s}`);
    }
    assert.deepEqual([...rows.batchSizes], [[SEQS, STEPS]], 'each call held one step of every sequence');
    assert.equal(seq.open, 0, 'every sequence ended');
    seq.close();
  });

  it('refuses a step of a sequence never started, ended or expired, and never resets it silently', async () => {
    using clock = new FakeClock(0);
    const rows = new DynamicBatcher(model, { maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelayMs: 0 });
    const seq = new SequenceBatcher(rows, model.manifest, CONFIG, clock);
    const xs = sequenceInputs(7, 3);
    const code = (r: SequenceResult) => (r.ok ? 'ok' : r.error.code);
    assert.equal(
      code(await seq.infer({ id: 'n', start: false, end: false }, x(xs[0]!))),
      'sequence_not_started',
    );

    y(await seq.infer({ id: 'a', start: true, end: false }, x(xs[0]!)));
    await clock.advance(1000);
    const second = y(await seq.infer({ id: 'a', start: false, end: false }, x(xs[1]!)));
    assert.ok(
      maxDiff([second], (await unrolled(reference, xs.slice(0, 2))).slice(1)) < 1e-5,
      'idle 1000 ms: kept',
    );
    await clock.advance(1001);
    assert.equal(
      code(await seq.infer({ id: 'a', start: false, end: false }, x(xs[2]!))),
      'sequence_not_started',
    );
    assert.equal(seq.open, 0);

    y(await seq.infer({ id: 'b', start: true, end: true }, x(xs[0]!)));
    assert.equal(
      code(await seq.infer({ id: 'b', start: false, end: false }, x(xs[1]!))),
      'sequence_not_started',
    );
    seq.close();
  });

  it('refuses the state as an input, more than one row, and a start beyond maxSequences', async () => {
    using clock = new FakeClock(0);
    const rows = new DynamicBatcher(model, { maxBatchSize: 4, preferredBatchSizes: [], maxQueueDelayMs: 0 });
    const seq = new SequenceBatcher(rows, model.manifest, { ...CONFIG, maxSequences: 1 }, clock);
    const refusal = async (r: Promise<SequenceResult>) => {
      const v = await r;
      return v.ok ? 'ok' : `${v.error.code}: ${v.error.message}`;
    };
    const start = { id: 'a', start: true, end: false };
    assert.match(
      await refusal(
        seq.infer(start, [
          ...x([0, 0, 0, 0]),
          { name: 'state_in', shape: [1, 8], data: new Float32Array(8) },
        ]),
      ),
      /^invalid_tensor: input 'state_in' is the sequence's state/,
    );
    assert.match(
      await refusal(seq.infer(start, [{ name: 'x', shape: [2, 4], data: new Float32Array(8) }])),
      /^invalid_tensor: .*one row/,
    );
    assert.equal(await refusal(seq.infer(start, x([0, 0, 0, 0]))), 'ok');
    assert.match(
      await refusal(seq.infer({ id: 'b', start: true, end: false }, x([0, 0, 0, 0]))),
      /^sequence_slots_full/,
    );
    seq.close();
  });
});
