import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { type Architecture, resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import { demoWeightIndex } from '../../../../runtime/model/graph/index.ts';
import { loadModel, type ModelManifest } from '../../../../runtime/model/index.ts';
import { prng, randInt } from '../../../support/engine-harness.ts';
import { writeModelFolder } from './model-folder.ts';
import { rowRelError, runSchedule, SEQ_LENGTHS } from './step-schedule.ts';

// The TypeScript builder is a port of runtime/model/py/graphs.py: for the committed models (written by
// export.py) it must compute what the Python-built graphs compute, on the engine's real step inputs.

const MODELS = fileURLToPath(new URL('../../../../runtime/models/', import.meta.url));
const ROLES = ['engine', 'reference', 'decode_contiguous'] as const;
// Largest |got - want| over an array, relative to its largest |want| (0 when bit-identical).
const TOL = 1e-6;

for (const name of ['tiny', 'demo']) {
  describe(`TS-built graphs of ${name} equal export.py's`, { timeout: 120_000 }, () => {
    const pyDir = join(MODELS, name);
    let tsDir: string;
    let manifest: ModelManifest;
    before(async () => {
      tsDir = await mkdtemp(join(tmpdir(), `wg-graph-parity-${name}-`));
      manifest = JSON.parse(await readFile(join(pyDir, 'model.json'), 'utf8')) as ModelManifest;
      const arch = resolveArchitecture(manifest.architecture as Architecture);
      const weights = join(pyDir, 'weights.bin');
      const index = demoWeightIndex(arch, (await stat(weights)).size);
      await writeModelFolder(
        tsDir,
        manifest.architecture as Architecture,
        index,
        { copyFrom: weights },
        manifest.name,
      );
    });
    after(() => rm(tsDir, { recursive: true, force: true }));

    it('writes the same bytes (while the TS builder is a straight port)', async () => {
      for (const role of ROLES) {
        const [ts, py] = await Promise.all([
          readFile(join(tsDir, `${role}.onnx`)),
          readFile(join(pyDir, `${role}.onnx`)),
        ]);
        assert.ok(ts.equals(py), `${role}.onnx differs from export.py's`);
      }
    });

    it('engine.onnx: same logits and KV cache over prefill, mixed and decode-only steps', async (t) => {
      const rand = prng(11);
      const tokens = SEQ_LENGTHS.map((n) => Array.from({ length: n }, () => randInt(rand, 0, 255)));
      const [py, ts] = await Promise.all([
        loadModel(pyDir, { intraOpThreads: 1 }),
        loadModel(tsDir, { intraOpThreads: 1 }),
      ]);
      try {
        const want = await runSchedule(py, tokens);
        const got = await runSchedule(ts, tokens);
        let worst = 0;
        want.rows.forEach((w, i) => {
          const g = got.rows[i]!;
          assert.equal(g.step, w.step);
          const rel = rowRelError(g.logits, w.logits);
          worst = Math.max(worst, rel);
          assert.ok(rel <= TOL, `${w.step}, sequence ${w.seq}: relative error ${rel}`);
        });
        for (const [part, a, b] of [
          ['keys', got.keys, want.keys],
          ['values', got.values, want.values],
        ] as const)
          a.forEach((layer, l) =>
            assert.ok(rowRelError(layer, b[l]!) <= TOL, `${part} of layer ${l} differ`),
          );
        t.diagnostic(`${want.rows.length} rows, worst relative error ${worst}`);
      } finally {
        await Promise.all([py.release(), ts.release()]);
      }
    });

    /** Runs `feeds` through one role's graph from both folders. */
    async function both(role: (typeof ROLES)[number], feeds: Record<string, ort.Tensor>) {
      const run = async (dir: string) => {
        const s = await ort.InferenceSession.create(join(dir, `${role}.onnx`), { intraOpNumThreads: 1 });
        try {
          return await s.run(feeds);
        } finally {
          await s.release();
        }
      };
      return { py: await run(pyDir), ts: await run(tsDir) };
    }

    it('reference.onnx: same logits for a whole sequence', async () => {
      const rand = prng(5);
      const ids = BigInt64Array.from({ length: 40 }, () => BigInt(randInt(rand, 0, 256)));
      const { py, ts } = await both('reference', { input_ids: new ort.Tensor('int64', ids, [ids.length]) });
      assert.ok(rowRelError(ts.logits!.data as Float32Array, py.logits!.data as Float32Array) <= TOL);
    });

    it('decode_contiguous.onnx: same logits and new keys and values', async () => {
      const a = manifest.architecture;
      const B = 3;
      const P = 9;
      const rand = prng(9);
      const random = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
      const mask = new Float32Array(B * P).map((_, i) => (i % P < 3 + Math.floor(i / P) * 3 ? 0 : -1e30));
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.of(1n, 100n, 255n), [B]),
        positions: new ort.Tensor('int64', BigInt64Array.of(3n, 6n, 9n), [B]),
        past_mask: new ort.Tensor('float32', mask, [B, 1, 1, P]),
      };
      for (let l = 0; l < a.n_layer; l++) {
        feeds[`k_past_${l}`] = new ort.Tensor('float32', random(B * a.n_kv_head * a.head_dim * P), [
          B,
          a.n_kv_head,
          a.head_dim,
          P,
        ]);
        feeds[`v_past_${l}`] = new ort.Tensor('float32', random(B * a.n_kv_head * P * a.head_dim), [
          B,
          a.n_kv_head,
          P,
          a.head_dim,
        ]);
      }
      const { py, ts } = await both('decode_contiguous', feeds);
      for (const out of ['logits', 'new_keys', 'new_values'])
        assert.ok(
          rowRelError(ts[out]!.data as Float32Array, py[out]!.data as Float32Array) <= TOL,
          `${out} differ`,
        );
    });
  });
}
