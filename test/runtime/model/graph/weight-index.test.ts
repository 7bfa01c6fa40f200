import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type Architecture,
  resolveArchitecture,
  weightNames,
} from '../../../../runtime/model/architecture.ts';
import {
  buildGraphs,
  demoWeightIndex,
  GraphBuildError,
  packedWeightIndex,
} from '../../../../runtime/model/graph/index.ts';
import { decodeModel } from '../../../../runtime/model/onnx/index.ts';

const MODELS = fileURLToPath(new URL('../../../../runtime/models/', import.meta.url));

async function committed(name: string) {
  const dir = join(MODELS, name);
  const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    architecture: Architecture;
  };
  return {
    dir,
    arch: resolveArchitecture(manifest.architecture),
    size: (await stat(join(dir, 'weights.bin'))).size,
  };
}

function refusal(f: () => unknown, code: GraphBuildError['code']): void {
  assert.throws(f, (e) => e instanceof GraphBuildError && e.code === code);
}

describe('weights index', () => {
  for (const name of ['tiny', 'demo'])
    it(`reproduces the layout export.py wrote for ${name}`, async () => {
      const { dir, arch, size } = await committed(name);
      const index = demoWeightIndex(arch, size);
      // What Python's WeightFile recorded, read back from the graph it wrote.
      const written = decodeModel(await readFile(join(dir, 'reference.onnx'))).graph!.initializer!.filter(
        (t) => t.external_data,
      );
      assert.deepEqual(
        written.map((t) => t.name),
        weightNames(arch),
      );
      for (const t of written) {
        const ext = Object.fromEntries(t.external_data!.map((e) => [e.key, e.value]));
        const e = index[t.name!]!;
        assert.deepEqual(
          { offset: String(e.offset), length: String(e.byteLength), dims: [...e.shape] },
          { offset: ext.offset, length: ext.length, dims: t.dims },
          t.name,
        );
        assert.equal(e.offset % 64, 0);
      }
    });

  it('refuses a weights file of another size', async () => {
    const { arch, size } = await committed('tiny');
    refusal(() => demoWeightIndex(arch, size + 64), 'weights_size_mismatch');
  });
});

describe('buildGraphs refuses what it cannot build', () => {
  const llama = resolveArchitecture({
    type: 'decoder-only-transformer',
    vocab_size: 10,
    context_length: 16,
    d_model: 8,
    n_layer: 1,
    n_head: 2,
    n_kv_head: 1,
    head_dim: 4,
    d_ff: 8,
    norm_eps: 1e-6,
    norm: 'rmsnorm',
    position: 'rope',
    mlp: 'swiglu',
    rope: { theta: 10000 },
  });
  const { index } = packedWeightIndex(llama);

  it('builds the valid case', () => {
    const g = buildGraphs(llama, index);
    assert.ok(g.engine.length > 0 && g.reference.length > 0 && g.decodeContiguous.length > 0);
  });
  it('a weight missing from the index', () => {
    const { 'l0.w_up': _, ...partial } = index;
    refusal(() => buildGraphs(llama, partial), 'weight_missing');
  });
  it('a weight of the wrong shape', () => {
    refusal(
      () => buildGraphs(llama, { ...index, 'l0.wq': { ...index['l0.wq']!, shape: [4, 8] } }),
      'weight_shape_mismatch',
    );
  });
  it('RoPE without its settings, or rotating more dimensions than a head has', () => {
    refusal(() => buildGraphs({ ...llama, rope: undefined }, index), 'architecture_unsupported');
    refusal(
      () => buildGraphs({ ...llama, rope: { theta: 10000, dim: 6 } }, index),
      'architecture_unsupported',
    );
    refusal(
      () => buildGraphs({ ...llama, rope: { theta: 10000, dim: 3 } }, index),
      'architecture_unsupported',
    );
  });
  it('query heads that do not divide among the key/value heads', () => {
    refusal(() => buildGraphs({ ...llama, n_kv_head: 3 }, index), 'architecture_unsupported');
  });
});
