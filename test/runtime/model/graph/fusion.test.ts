import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { type Architecture, resolveArchitecture } from '../../../../runtime/model/architecture.ts';
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
