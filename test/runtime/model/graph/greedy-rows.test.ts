// The device step's greedy rows (graph/greedy-rows.ts) against the host sampler: a greedy request's
// token and logprob must not depend on which of the two chose it. Runs on the tests' provider (the CPU in
// CI; WebGPU under `npm run test:gpu`).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { DeviceKVPool } from '../../../../runtime/engine/runner/device-kv-pool.ts';
import { DeviceModelRunner } from '../../../../runtime/engine/runner/device-model-runner.ts';
import type { StepEntry } from '../../../../runtime/engine/runner/step-inputs.ts';
import { greedyFromRows, sample } from '../../../../runtime/engine/sampling/sampler.ts';
import { GREEDY_ROWS } from '../../../../runtime/model/graph/index.ts';
import { greedyRows } from '../../../../runtime/model/graph/greedy-rows.ts';
import { eosTokenIds, type LoadedModel, loadModel } from '../../../../runtime/model/index.ts';
import { DataType, encodeModel, Graph } from '../../../../runtime/model/onnx/index.ts';
import { prng, TEST_MODEL_DIR } from '../../../support/engine-harness.ts';
import {
  TEST_DEVICE,
  TEST_EP,
  TEST_KV,
  testBlockSize,
  testLoadOptions,
} from '../../../support/test-device.ts';

const GREEDY = { temperature: 0, topK: 0, topP: 1, logprobs: 0, ignoreEos: false };
const noDraws = { next: (): number => assert.fail('greedy sampling drew a random number') };
const providers = TEST_EP === 'cpu' ? ['cpu'] : [TEST_EP, 'cpu'];

describe(`greedy rows on the device equal the host sampler's choice (${TEST_DEVICE})`, () => {
  // One session per row width and EOS set (the mask is a constant of the graph).
  const sessions = new Map<string, ort.InferenceSession>();
  after(async () => {
    for (const s of sessions.values()) await s.release();
  });

  const greedyOf = async (rows: number[][], eos: readonly number[] = []) => {
    const V = rows[0]?.length ?? 8;
    const key = `${V}|${eos.join(',')}`;
    let session = sessions.get(key);
    if (!session) {
      const g = new Graph('greedy_rows');
      g.input('logits', DataType.FLOAT, ['R', V]);
      greedyRows(g, 'logits', V, eos);
      session = await ort.InferenceSession.create(encodeModel(g.model({ purpose: 'test' })), {
        executionProviders: providers,
      });
      sessions.set(key, session);
    }
    const logits = new Float32Array(rows.flat());
    const out = await session.run({ logits: new ort.Tensor('float32', logits, [rows.length, V]) });
    return { logits, V, greedy: out[GREEDY_ROWS]!.data as Float32Array };
  };

  it('gives the same token and logprob as sample() for random rows, wide and narrow', async () => {
    const rand = prng(7);
    for (const [R, V, spread] of [
      [5, 257, 10],
      [3, 32000, 30],
      [4, 50, 1e4],
    ] as const) {
      const rows = Array.from({ length: R }, () => Array.from({ length: V }, () => (rand() - 0.5) * spread));
      const { logits, greedy } = await greedyOf(rows);
      for (let r = 0; r < R; r++) {
        const want = sample(logits, r * V, V, GREEDY, noDraws);
        const got = greedyFromRows(greedy, r);
        assert.equal(got.token, want.token, `row ${r} of ${R}x${V}`);
        assert.ok(
          Math.abs(got.logprob - want.logprob) <= 1e-5 * Math.max(1, Math.abs(want.logprob)),
          `row ${r} of ${R}x${V}: logprob ${got.logprob}, host ${want.logprob}`,
        );
      }
    }
  });

  it('with EOS masked, the same token and logprob as sample() with ignoreEos, where EOS leads or not', async () => {
    const rand = prng(9);
    for (const [R, V, eos] of [
      [6, 257, [256]],
      [3, 32000, [2, 31999]],
    ] as const) {
      const rows = Array.from({ length: R }, () => Array.from({ length: V }, () => (rand() - 0.5) * 20));
      // Half the rows have an EOS id as their argmax: masked, the choice moves to the next best.
      rows.forEach((row, r) => {
        if (r % 2 === 0) row[eos[r % eos.length]!] = 50;
      });
      const { logits, greedy } = await greedyOf(rows, eos);
      for (let r = 0; r < R; r++) {
        const want = sample(logits, r * V, V, { ...GREEDY, ignoreEos: true }, noDraws, eos);
        const got = greedyFromRows(greedy, r, true);
        assert.equal(got.token, want.token, `row ${r} of ${R}x${V}`);
        assert.ok(
          Math.abs(got.logprob - want.logprob) <= 1e-5 * Math.max(1, Math.abs(want.logprob)),
          `row ${r} of ${R}x${V}: logprob ${got.logprob}, host ${want.logprob}`,
        );
        const raw = greedyFromRows(greedy, r);
        assert.equal(
          raw.token === want.token,
          r % 2 === 1,
          `row ${r}: unmasked choice is EOS only where EOS leads`,
        );
      }
    }
  });

  it('keeps the lowest id on ties, as the host does', async () => {
    const { greedy } = await greedyOf([
      [0, 3, 1, 3, 3, -1, 0, 2],
      [5, 5, 5, 5, 5, 5, 5, 5],
    ]);
    assert.equal(greedyFromRows(greedy, 0).token, 1);
    assert.equal(greedyFromRows(greedy, 1).token, 0);
    assert.ok(Math.abs(greedyFromRows(greedy, 1).logprob - -Math.log(8)) < 1e-6);
  });

  it('reads a row with NaN or infinite logits as a broken output: an error, not a token', async () => {
    const { greedy } = await greedyOf([
      [0, Number.NaN, 1, 2],
      [0, Number.POSITIVE_INFINITY, 1, 2],
      [-Infinity, -Infinity, -Infinity, -Infinity],
      [0, 1, 2, 3],
    ]);
    for (const r of [0, 1, 2]) assert.throws(() => greedyFromRows(greedy, r), /NaN or infinite logit/);
    assert.equal(greedyFromRows(greedy, 3).token, 3);
  });
});

describe(`a device step brings down the logits of the rows that need them, and greedy rows for all (${TEST_DEVICE})`, () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel(TEST_MODEL_DIR, testLoadOptions({ deviceKv: TEST_KV ?? 'float32' }));
  });
  after(() => model.release());

  /** A runner over a pool of its own. */
  function freshRunner() {
    const blockSize = testBlockSize(4);
    const arch = model.manifest.architecture;
    const pool = new DeviceKVPool(arch, { blockSize, tileBlocks: 4 }, 64, model.device!);
    return { blockSize, pool, runner: new DeviceModelRunner(model, pool) };
  }

  /** Three prompts in their own blocks; the second is a prefill chunk that samples nothing. */
  function prompts(blockSize: number, seed: number): StepEntry[] {
    const V = model.manifest.architecture.vocab_size;
    const rand = prng(seed);
    let next = 0;
    return [5, 9, 3].map((n, i) => {
      const blockTable = Array.from({ length: Math.ceil(n / blockSize) }, () => next++);
      const tokens = Array.from({ length: n }, () => Math.floor(rand() * V));
      return { tokens, numComputed: 0, numNew: n, blockTable, samples: i !== 1 };
    });
  }

  it('a greedy entry gets the token and logprob its whole row gives the host sampler', async () => {
    const { blockSize, pool, runner } = freshRunner();
    const V = model.manifest.architecture.vocab_size;
    const entries = prompts(blockSize, 11);
    // The step writes the same keys and values to the same slots each time: running it again is the same step.
    const whole = await runner.step(entries, []);
    assert.deepEqual([...whole.logitsRow], [0, -1, 1]);
    assert.equal(whole.logits.length, 2 * V);
    // Only the first entry needs its whole row now; the third's stays on the device.
    const mixed = await runner.step(
      entries.map((e, i) => ({ ...e, wholeLogits: i === 0 })),
      [],
    );
    assert.deepEqual([...mixed.logitsRow], [0, -1, -1]);
    assert.equal(mixed.logits.length, V, 'one row came down');
    assert.deepEqual([...mixed.logits], [...whole.logits.subarray(0, V)]);
    assert.deepEqual([...mixed.greedyRow!], [0, -1, 1]);
    for (const e of [0, 2]) {
      const row = whole.logitsRow[e]!;
      const want = sample(whole.logits, row * V, V, GREEDY, noDraws);
      const got = greedyFromRows(mixed.greedy!, mixed.greedyRow![e]!);
      assert.equal(got.token, want.token, `entry ${e}`);
      assert.ok(
        Math.abs(got.logprob - want.logprob) <= 1e-4,
        `entry ${e}: ${got.logprob} vs ${want.logprob}`,
      );
      // With ignoreEos, the row's choice without the model's EOS ids, as the host makes it.
      const eos = eosTokenIds(model.manifest);
      const wantNoEos = sample(whole.logits, row * V, V, { ...GREEDY, ignoreEos: true }, noDraws, eos);
      const gotNoEos = greedyFromRows(mixed.greedy!, mixed.greedyRow![e]!, true);
      assert.equal(gotNoEos.token, wantNoEos.token, `entry ${e}, EOS masked`);
      assert.ok(Math.abs(gotNoEos.logprob - wantNoEos.logprob) <= 1e-4, `entry ${e}, EOS masked: logprob`);
    }
    pool.dispose();
  });

  it('a step that samples nothing brings nothing down and reads no row', async () => {
    const { blockSize, pool, runner } = freshRunner();
    const out = await runner.step(
      prompts(blockSize, 12).map((e) => ({ ...e, samples: false })),
      [],
    );
    assert.deepEqual([...out.logitsRow], [-1, -1, -1]);
    assert.deepEqual([...out.greedyRow!], [-1, -1, -1]);
    assert.equal(out.logits.length, 0);
    pool.dispose();
  });
});
