import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { type Architecture, resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import { buildDeviceGraphs } from '../../../../runtime/model/graph/index.ts';
import { decodeModel } from '../../../../runtime/model/onnx/index.ts';
import { writeModelFolder } from './model-folder.ts';
import { randomModel } from './random-model.ts';

// RMSNorm, SiLU and both GELUs are written as standard ops in the patterns ONNX Runtime's optimizer
// recognises: each must come out of it as one fused kernel, none of its parts left behind.

const base = {
  type: 'decoder-only-transformer',
  vocab_size: 16,
  context_length: 16,
  d_model: 16,
  n_layer: 1,
  n_head: 2,
  n_kv_head: 1,
  head_dim: 8,
  d_ff: 32,
  norm_eps: 1e-6,
} as const;

const CASES: [string, Architecture, string[], string[]][] = [
  [
    'RMSNorm and SiLU',
    { ...base, norm: 'rmsnorm', position: 'rope', mlp: 'swiglu', rope: { theta: 10000 } },
    ['SimplifiedLayerNormalization', 'QuickGelu'],
    ['Pow', 'ReduceMean', 'Sqrt', 'Sigmoid'],
  ],
  ['tanh GELU', { ...base, mlp: 'gelu_tanh', mlp_bias: true }, ['FastGelu'], ['Pow', 'Tanh']],
  ['exact GELU', base, ['Gelu'], ['Erf']],
];

describe('ONNX Runtime fuses the norm and activation patterns', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'wg-graph-fusion-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  CASES.forEach(([label, arch, fused, gone], i) =>
    it(label, async () => {
      const dir = join(root, String(i));
      await mkdir(dir);
      const weights = randomModel(resolveArchitecture(arch), i);
      await writeModelFolder(dir, arch, weights.index, weights.bytes);
      const optimized = join(dir, 'optimized.onnx');
      const session = await ort.InferenceSession.create(join(dir, 'reference.onnx'), {
        graphOptimizationLevel: 'extended',
        optimizedModelFilePath: optimized,
      });
      await session.release();
      const ops = new Set(decodeModel(await readFile(optimized)).graph!.node!.map((n) => n.op_type));
      for (const op of fused) assert.ok(ops.has(op), `no ${op} in ${[...ops].join(', ')}`);
      for (const op of gone) assert.ok(!ops.has(op), `${op} left unfused`);
    }),
  );
});

// The device step writes q, k and v as one product over [Wq | Wk | Wv], and a gated MLP's gate and up as
// one over [Wgate | Wup] (device-layers.ts): the weights' Concat reads initializers only, so the optimizer
// must fold it when the session opens, or every step would copy those weights before its product.
describe("the device step's q/k/v and gate/up weights are concatenated once, when the session opens", () => {
  const arch: Architecture = {
    ...base,
    n_layer: 2,
    norm: 'rmsnorm',
    position: 'rope',
    mlp: 'swiglu',
    rope: { theta: 10000 },
    qkv_bias: true,
    mlp_bias: true,
  };
  it('one product a layer for q, k and v, one for gate and up, and no Concat of weights left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wg-graph-qkv-'));
    try {
      const resolved = resolveArchitecture(arch);
      const weights = randomModel(resolved, 7);
      await writeModelFolder(dir, arch, weights.index, weights.bytes);
      const step = buildDeviceGraphs(resolved, weights.index, 'float32').step;
      const written = decodeModel(step).graph!.node!;
      // As written: the Concat of each layer's three weights (and three biases), and of its gate and up
      // weights (and biases), is there to be folded.
      const isWeight = (name: string) => /^l\d+\.([wb][qkv]|[wb]_(gate|up))$/.test(name);
      const concatsOfWeights = (nodes: typeof written) =>
        nodes.filter((n) => n.op_type === 'Concat' && n.input!.every(isWeight)).length;
      assert.equal(concatsOfWeights(written), 4 * resolved.n_layer);
      const optimized = join(dir, 'step-optimized.onnx');
      const session = await ort.InferenceSession.create(step, {
        graphOptimizationLevel: 'all',
        optimizedModelFilePath: optimized,
        extra: { session: { model_external_initializers_file_folder_path: dir } },
      });
      await session.release();
      const nodes = decodeModel(await readFile(optimized)).graph!.node!;
      assert.equal(concatsOfWeights(nodes), 0);
      assert.ok(
        !nodes.some((n) => n.input!.some(isWeight)),
        'a node still reads a q, k, v, gate or up weight by itself',
      );
      // A layer's products: q/k/v as one (its bias Add fused in: Gemm), o, gate/up as one and down; and
      // the logits' Gemm. Separate q, k, v, gate and up products would make it 7 a layer.
      const products = nodes.filter((n) => ['MatMul', 'FusedMatMul', 'Gemm'].includes(n.op_type!)).length;
      assert.equal(products, 4 * resolved.n_layer + 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
