import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { type Architecture, resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import { type LoadedModel, loadModel } from '../../../../runtime/model/index.ts';
import { prng, randInt } from '../../../support/engine-harness.ts';
import { writeModelFolder } from './model-folder.ts';
import { naiveLogits } from './naive-forward.ts';
import { randomModel } from './random-model.ts';
import { rowRelError, runSchedule, SEQ_LENGTHS, SHAPE, slotOf } from './step-schedule.ts';

// Each model family the builder supports, with random weights: the reference graph must compute what a
// plain forward pass written from Hugging Face's modelling code computes, and the paged engine graph
// (every branch and attention part) and the contiguous decode graph what the reference computes.

const TOL = 1e-4;

const base = {
  type: 'decoder-only-transformer',
  vocab_size: 61,
  context_length: 64,
  d_model: 32,
  n_layer: 2,
  n_head: 4,
  n_kv_head: 2,
  head_dim: 8,
  d_ff: 48,
  norm_eps: 1e-5,
} as const;
const llama = { ...base, norm: 'rmsnorm', position: 'rope', mlp: 'swiglu', rope: { theta: 10000 } } as const;

const VARIANTS: Record<string, Architecture> = {
  'Llama (RMSNorm, RoPE, SwiGLU, tied embeddings)': llama,
  'Qwen2 (q, k, v biases)': { ...llama, qkv_bias: true, rope: { theta: 1e6 } },
  'Llama 3 (rope scaling over all three frequency bands)': {
    ...llama,
    rope: {
      theta: 500000,
      llama3: { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 256 },
    },
  },
  'untied lm_head, partial rotary, every bias': {
    ...llama,
    tied_embeddings: false,
    rope: { theta: 10000, dim: 4 },
    qkv_bias: true,
    o_bias: true,
    mlp_bias: true,
  },
  'GPT-2 (LayerNorm, learned positions, tanh GELU, every bias)': {
    ...base,
    mlp: 'gelu_tanh',
    qkv_bias: true,
    o_bias: true,
    mlp_bias: true,
  },
};

let seed = 100;
for (const [label, arch] of Object.entries(VARIANTS)) {
  describe(label, { timeout: 120_000 }, () => {
    const resolved = resolveArchitecture(arch);
    const weights = randomModel(resolved, seed++);
    const rand = prng(seed++);
    const tokens = SEQ_LENGTHS.map((n) =>
      Array.from({ length: n }, () => randInt(rand, 0, arch.vocab_size - 1)),
    );
    const V = arch.vocab_size;
    let dir: string;
    let model: LoadedModel;
    let reference: ort.InferenceSession;
    const referenceLogits = async (ids: readonly number[]) => {
      const input = BigInt64Array.from(ids, (t) => BigInt(t));
      const out = await reference.run({ input_ids: new ort.Tensor('int64', input, [input.length]) });
      return out.logits!.data as Float32Array;
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'wg-graph-variant-'));
      await writeModelFolder(dir, arch, weights.index, weights.bytes);
      model = await loadModel(dir, { intraOpThreads: 1 });
      reference = await ort.InferenceSession.create(join(dir, 'reference.onnx'), { intraOpNumThreads: 1 });
    });
    after(async () => {
      await reference?.release();
      await model?.release();
      await rm(dir, { recursive: true, force: true });
    });

    it('reference.onnx equals a plain forward pass', async (t) => {
      const ids = tokens[0]!;
      const got = await referenceLogits(ids);
      const want = naiveLogits(resolved, weights.weight, ids);
      let worst = 0;
      want.forEach((row, r) => {
        const rel = rowRelError(got.subarray(r * V, (r + 1) * V), Float32Array.from(row));
        worst = Math.max(worst, rel);
        assert.ok(rel <= TOL, `position ${r}: relative error ${rel}`);
      });
      // The logits must depend on the input (a broken graph could return one row for every position).
      assert.ok(rowRelError(got.subarray(0, V), got.subarray(V, 2 * V)) > 0.01);
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    });

    it('engine.onnx over prefill, mixed and decode-only steps equals the reference', async (t) => {
      const { rows } = await runSchedule(model, tokens);
      let worst = 0;
      for (const row of rows) {
        const all = await referenceLogits(tokens[row.seq]!.slice(0, row.length));
        const rel = rowRelError(row.logits, all.subarray((row.length - 1) * V, row.length * V));
        worst = Math.max(worst, rel);
        assert.ok(rel <= TOL, `${row.step}, sequence ${row.seq} at ${row.length - 1}: relative error ${rel}`);
      }
      t.diagnostic(`${rows.length} rows, worst relative error ${worst.toExponential(2)}`);
    });

    it("decode_contiguous.onnx over the engine's cached keys equals the reference", async () => {
      // Sequence a's first P keys and values, read out of the engine's pool, as a contiguous cache.
      const { keys, values } = await runSchedule(model, tokens);
      const P = SEQ_LENGTHS[0] - 1;
      const { n_layer: L, n_kv_head: KVH, head_dim: Dh } = arch;
      const TS = SHAPE.blockSize * SHAPE.tileBlocks;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(tokens[0]![P]!)), [1]),
        positions: new ort.Tensor('int64', BigInt64Array.of(BigInt(P)), [1]),
        past_mask: new ort.Tensor('float32', new Float32Array(P), [1, 1, 1, P]),
      };
      const pool = (
        which: Float32Array[],
        l: number,
        p: number,
        h: number,
        j: number,
        keysLayout: boolean,
      ) => {
        const { tile, column } = slotOf(0, p);
        return keysLayout
          ? which[l]![((tile * KVH + h) * Dh + j) * TS + column]!
          : which[l]![((tile * KVH + h) * TS + column) * Dh + j]!;
      };
      for (let l = 0; l < L; l++) {
        const k = new Float32Array(KVH * Dh * P);
        const v = new Float32Array(KVH * P * Dh);
        for (let h = 0; h < KVH; h++)
          for (let p = 0; p < P; p++)
            for (let j = 0; j < Dh; j++) {
              k[(h * Dh + j) * P + p] = pool(keys, l, p, h, j, true);
              v[(h * P + p) * Dh + j] = pool(values, l, p, h, j, false);
            }
        feeds[`k_past_${l}`] = new ort.Tensor('float32', k, [1, KVH, Dh, P]);
        feeds[`v_past_${l}`] = new ort.Tensor('float32', v, [1, KVH, P, Dh]);
      }
      const session = await ort.InferenceSession.create(join(dir, 'decode_contiguous.onnx'), {
        intraOpNumThreads: 1,
      });
      try {
        const out = await session.run(feeds);
        const all = await referenceLogits(tokens[0]!);
        const rel = rowRelError(out.logits!.data as Float32Array, all.subarray(P * V, (P + 1) * V));
        assert.ok(rel <= TOL, `logits: relative error ${rel}`);
        // Its new key for position P is the one the engine cached there (rotated the same way).
        const newKeys = out.new_keys!.data as Float32Array; // [L, 1, KVH, Dh]
        for (let l = 0; l < L; l++)
          for (let h = 0; h < KVH; h++)
            for (let j = 0; j < Dh; j++) {
              const want = pool(keys, l, P, h, j, true);
              const got = newKeys[(l * KVH + h) * Dh + j]!;
              assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `key l${l} h${h} d${j}`);
            }
      } finally {
        await session.release();
      }
    });
  });
}
