import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { KVStore } from '../../../../runtime/engine/runner/kv-store.ts';
import { ModelRunner } from '../../../../runtime/engine/runner/model-runner.ts';
import type { StepEntry } from '../../../../runtime/engine/runner/step-inputs.ts';
import { type LoadedModel, loadModel } from '../../../../runtime/model/index.ts';
import { importModel } from '../../../../runtime/model/import/index.ts';
import { rowRelError } from './step-schedule.ts';

// What Hugging Face transformers computed for each fixture checkpoint (test/fixtures/hf, see
// make_hf_fixtures.py), through `warmgate import`: the reference graph must give the same logits at every
// position, and the paged engine the same logits and greedy tokens over a batched prefill and eight
// batched decodes.

const HF = fileURLToPath(new URL('../../../fixtures/hf/', import.meta.url));
const TOL = 1e-4;

interface Golden {
  vocab_size: number;
  prompts: {
    ids: number[];
    greedy: number[];
    prefill_logits_row: number;
    decode_logits_row: number;
  }[];
}

for (const fixture of ['llama', 'llama3', 'mistral', 'qwen2', 'gpt2']) {
  describe(`Hugging Face ${fixture} goldens`, { timeout: 120_000 }, () => {
    let dir: string;
    let model: LoadedModel;
    let golden: Golden;
    let rows: Float32Array;
    /** Golden logits row r. */
    const want = (r: number) => rows.subarray(r * golden.vocab_size, (r + 1) * golden.vocab_size);

    before(async () => {
      dir = join(await mkdtemp(join(tmpdir(), `wg-graph-hf-${fixture}-`)), 'model');
      await importModel(join(HF, fixture), dir);
      model = await loadModel(dir, { intraOpThreads: 1 });
      golden = JSON.parse(await readFile(join(HF, fixture, 'golden', 'golden.json'), 'utf8')) as Golden;
      const raw = await readFile(join(HF, fixture, 'golden', 'logits.f32'));
      rows = new Float32Array(Uint8Array.from(raw).buffer);
    });
    after(async () => {
      await model?.release();
      await rm(join(dir, '..'), { recursive: true, force: true });
    });

    it('reference.onnx: logits at every prompt and greedy position', async (t) => {
      const session = await ort.InferenceSession.create(join(dir, 'reference.onnx'), {
        intraOpNumThreads: 1,
      });
      let worst = 0;
      try {
        for (const p of golden.prompts) {
          const seq = [...p.ids, ...p.greedy];
          const ids = BigInt64Array.from(seq, (x) => BigInt(x));
          const out = (await session.run({ input_ids: new ort.Tensor('int64', ids, [ids.length]) })).logits!
            .data as Float32Array;
          const V = golden.vocab_size;
          seq.forEach((_, pos) => {
            const r =
              pos < p.ids.length ? p.prefill_logits_row + pos : p.decode_logits_row + pos - p.ids.length;
            const rel = rowRelError(out.subarray(pos * V, (pos + 1) * V), want(r));
            worst = Math.max(worst, rel);
            assert.ok(rel <= TOL, `position ${pos}: relative error ${rel}`);
          });
        }
      } finally {
        await session.release();
      }
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    });

    it('engine.onnx: batched prefill then decodes give the golden logits and greedy tokens', async (t) => {
      const V = golden.vocab_size;
      const shape = { blockSize: 4, tileBlocks: 2 };
      const blocksEach = 32;
      const store = new KVStore(model.manifest.architecture, shape, blocksEach * golden.prompts.length);
      const runner = new ModelRunner(model, store);
      const seqs = golden.prompts.map((p, i) => ({
        tokens: [...p.ids, ...p.greedy],
        computed: 0,
        table: Array.from({ length: blocksEach }, (_, b) => i * blocksEach + b),
      }));
      let worst = 0;
      for (let step = 0; step <= 8; step++) {
        const entries: StepEntry[] = seqs.map((s, i) => ({
          tokens: s.tokens,
          numComputed: s.computed,
          numNew: step === 0 ? golden.prompts[i]!.ids.length : 1,
          blockTable: s.table,
          samples: true,
        }));
        const out = await runner.step(entries, []);
        seqs.forEach((s, i) => {
          const p = golden.prompts[i]!;
          s.computed += entries[i]!.numNew;
          const pos = s.computed - 1;
          const r =
            pos < p.ids.length ? p.prefill_logits_row + pos : p.decode_logits_row + pos - p.ids.length;
          const got = out.logits.subarray(out.logitsRow[i]! * V, (out.logitsRow[i]! + 1) * V);
          const rel = rowRelError(got, want(r));
          worst = Math.max(worst, rel);
          assert.ok(rel <= TOL, `prompt ${i}, step ${step}: relative error ${rel}`);
          if (step < 8) {
            const best = got.indexOf(Math.max(...got));
            assert.equal(best, p.greedy[step], `prompt ${i}, greedy token ${step}`);
          }
        });
      }
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
    });
  });
}
