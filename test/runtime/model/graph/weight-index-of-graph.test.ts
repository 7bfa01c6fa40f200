// The device-resident KV graphs are derived at load from engine.onnx's own weight references
// (weightIndexOfGraph). The recovered index must be the one the graph was written from: rebuilt from
// it, engine.onnx comes out byte for byte the same, for the committed models and for imported
// checkpoints at every stored dtype (float32, float16, 4-bit blocks).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import {
  buildGraphs,
  demoWeightIndex,
  GraphBuildError,
  weightIndexOfGraph,
} from '../../../../runtime/model/graph/index.ts';
import { importModel } from '../../../../runtime/model/import/index.ts';
import { readManifest } from '../../../../runtime/model/index.ts';
import { decodeModel } from '../../../../runtime/model/onnx/index.ts';
import { repoRoot } from '../../../../runtime/bench/repo-root.ts';
import { HF_FIXTURES } from '../../../support/hf-golden.ts';

async function recovered(dir: string) {
  const manifest = await readManifest(dir);
  const arch = resolveArchitecture(manifest.architecture);
  const bytes = await readFile(join(dir, manifest.files.engine.path));
  return { manifest, arch, bytes, ...weightIndexOfGraph(decodeModel(bytes), arch) };
}

describe('weightIndexOfGraph: the index engine.onnx was written from', () => {
  for (const name of ['demo', 'tiny']) {
    it(`committed ${name} model: the packed layout export.py wrote`, async () => {
      const dir = join(repoRoot(), 'runtime/models', name);
      const r = await recovered(dir);
      assert.equal(r.location, 'weights.bin');
      assert.deepEqual(r.index, demoWeightIndex(r.arch, (await stat(join(dir, 'weights.bin'))).size));
    });
  }

  for (const dtype of ['float32', 'float16', 'int4'] as const) {
    it(`imported llama at ${dtype}: rebuilt from the recovered index, engine.onnx is the same bytes`, async () => {
      const tmp = await mkdtemp(join(tmpdir(), `wg-index-${dtype}-`));
      try {
        const dir = join(tmp, 'model');
        await importModel(join(HF_FIXTURES, 'llama'), dir, { dtype, name: 'llama' });
        const r = await recovered(dir);
        const stored = Object.values(r.index).map((e) => e.dtype);
        assert.ok(stored.includes(dtype === 'int4' ? 'uint8' : dtype), `some weight stored as ${dtype}`);
        const rebuilt = buildGraphs(r.arch, r.index, r.location, r.manifest.name).engine;
        assert.ok(Buffer.from(rebuilt).equals(r.bytes), 'the same engine.onnx');
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }

  it('a graph without a weight the architecture reads is refused, naming it', async () => {
    const r = await recovered(join(repoRoot(), 'runtime/models/tiny'));
    const model = decodeModel(r.bytes);
    model.graph!.initializer = model.graph!.initializer!.filter((t) => t.name !== 'ln_f.w');
    assert.throws(
      () => weightIndexOfGraph(model, r.arch),
      (e: unknown) =>
        e instanceof GraphBuildError && e.code === 'weight_missing' && /ln_f\.w/.test(e.message),
    );
  });
});
