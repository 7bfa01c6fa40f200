import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import {
  DataType,
  decodeModel,
  encodeModel,
  float,
  Graph,
  MS_DOMAIN,
  subgraph,
} from '../../../../runtime/model/onnx/index.ts';

const { FLOAT: F, BOOL } = DataType;

/** erf to ~1e-7 (Abramowitz and Stegun 7.1.26): enough for a 1e-5 comparison. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return Math.sign(x) * y;
}

async function run(g: Graph, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(encodeModel(g.model({ purpose: 'test' })));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('Graph builder (real ONNX Runtime)', () => {
  it('computes layer norm, GELU, a reduction and a matrix product as written', async () => {
    const g = new Graph('vocabulary');
    const x = g.input('x', F, ['B', 3]);
    const w = [0.5, -1, 2];
    const b = [0.1, 0, -0.2];
    const ln = g.layerNorm(x, g.const(w, 'float32'), g.const(b, 'float32'), 1e-5);
    g.op('Identity', [g.reduceSum(g.gelu(ln), 1)], {}, 'summed');
    const m = g.matmul(x, g.const([1, 2, 3, 4, 5, 6], 'float32', [3, 2]));
    g.op('Identity', [g.reshape(g.transpose(m, [1, 0]), [-1])], {}, 'flat');
    g.output('summed', F, ['B', 1]);
    g.output('flat', F, ['N']);

    const xs = [
      [1, 2, 4],
      [-3, 0.5, 0],
    ];
    const out = await run(g, { x: new ort.Tensor('float32', Float32Array.from(xs.flat()), [2, 3]) });

    const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    const summed = xs.map((row) => {
      const mean = row.reduce((s, v) => s + v, 0) / 3;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / 3;
      return row.reduce((s, v, i) => s + gelu(((v - mean) / Math.sqrt(variance + 1e-5)) * w[i]! + b[i]!), 0);
    });
    assert.deepEqual(out.summed!.dims, [2, 1]);
    (out.summed!.data as Float32Array).forEach((v, i) =>
      assert.ok(Math.abs(v - summed[i]!) < 1e-5, `row ${i}: ${v}`),
    );
    // x @ W is [[1*1+2*3+4*5, 1*2+2*4+4*6], [-3+1.5, -6+2]]; transposed and flattened
    assert.deepEqual([...(out.flat!.data as Float32Array)], [27, -1.5, 34, -4]);
  });

  it('stores equal constants once, distinguishing type and shape', () => {
    const g = new Graph('consts', { prefix: 'p/' });
    const a = g.const([0]);
    assert.equal(g.const([0]), a);
    assert.notEqual(g.const(0), a, 'a scalar is not a 1-vector');
    assert.notEqual(g.const([0], 'float32'), a, 'a float is not an int');
    assert.equal(g.full([1, 2], 0), g.const([0, 0], 'float32', [1, 2]));
    assert.equal(a, 'p/const_0');
    g.output('y', F, [1]);
    const initializers = decodeModel(encodeModel(g.model({}))).graph!.initializer!;
    assert.equal(initializers.length, 4);
    assert.deepEqual(initializers[1], { name: 'p/const_1', data_type: DataType.INT64, int64_data: [0] });
  });

  it('names outputs as onnx_builder.py does and refuses a fractional integer attribute', () => {
    const g = new Graph('names', { prefix: 'full/' });
    assert.equal(g.op('Relu', ['x']), 'full/relu_0');
    assert.equal(g.op('Relu', ['x'], {}, 'kept'), 'full/kept');
    assert.equal(g.op('Relu', ['x']), 'full/relu_1', 'a named op takes no number');
    assert.throws(() => g.op('Softmax', ['x'], { axis: 0.5 }), /not an integer/);
  });

  it('runs an If whose branches read the enclosing graph by name', async () => {
    const g = new Graph('if');
    g.input('flag', BOOL, [1]);
    const then = new Graph('then', { prefix: 't/', subgraph: true });
    then.input('x', F, [2]);
    then.op('Mul', ['x', then.const(2, 'float32')], {}, 'y');
    then.output('y', F, [2]);
    const otherwise = new Graph('else', { prefix: 'e/', subgraph: true });
    otherwise.input('x', F, [2]);
    otherwise.op('Neg', ['x'], {}, 'y');
    otherwise.output('y', F, [2]);
    g.declareInputsOf(then);
    g.node('If', ['flag'], ['y'], {
      then_branch: subgraph(then.asSubgraph()),
      else_branch: subgraph(otherwise.asSubgraph()),
    });
    g.output('y', F, [2]);
    const x = new ort.Tensor('float32', Float32Array.of(1.5, -4), [2]);
    const flag = (on: boolean) => new ort.Tensor('bool', Uint8Array.of(on ? 1 : 0), [1]);
    assert.deepEqual([...((await run(g, { flag: flag(true), x })).y!.data as Float32Array)], [3, -8]);
    assert.deepEqual([...((await run(g, { flag: flag(false), x })).y!.data as Float32Array)], [-1.5, 4]);
  });
  it('writes a contrib node (MultiHeadAttention) and imports its opset only then', async () => {
    const plain = new Graph('plain');
    plain.op('Identity', [plain.input('x', F, [1])], {}, 'y');
    plain.output('y', F, [1]);
    assert.deepEqual(
      plain.model({}).opset_import!.map((o) => o.domain),
      [''],
      'graphs without contrib nodes stay as they were',
    );

    // Two sequences, two heads of 2 dims, 3 keys; the bias hides key 2 from the first sequence.
    const [B, S, N, D, L] = [2, 1, 2, 2, 3];
    const g = new Graph('mha');
    const q = g.input('q', F, [B, S, N * D]);
    const k = g.input('k', F, [B, L, N * D]);
    const v = g.input('v', F, [B, L, N * D]);
    const bias = g.input('bias', F, [B, 1, S, L]);
    const out = g.contrib('MultiHeadAttention', [q, k, v, '', '', bias], { num_heads: N, scale: float(1) });
    g.op('Identity', [out], {}, 'out');
    g.output('out', F, [B, S, N * D]);
    const model = decodeModel(encodeModel(g.model({})));
    assert.deepEqual(
      model.opset_import!.map((o) => o.domain),
      ['', MS_DOMAIN],
    );
    assert.equal(model.graph!.node!.find((n) => n.op_type === 'MultiHeadAttention')!.domain, MS_DOMAIN);

    const Q = [0.5, -1, 1, 0.25, -0.5, 2, 0, 1];
    const K = [1, 0, 0.5, 1, -1, 2, 0, 1, 2, -1, 1, 1, 0.5, 0.5, -1, 0, 1, 1, 0, 2, 1, -2, 0.5, 0];
    const V = K.map((x, i) => x * 0.5 + i * 0.1);
    const BIAS = [0, 0, -1e30, 0, 0, 0];
    const got = (
      await run(g, {
        q: new ort.Tensor('float32', Float32Array.from(Q), [B, S, N * D]),
        k: new ort.Tensor('float32', Float32Array.from(K), [B, L, N * D]),
        v: new ort.Tensor('float32', Float32Array.from(V), [B, L, N * D]),
        bias: new ort.Tensor('float32', Float32Array.from(BIAS), [B, 1, S, L]),
      })
    ).out!.data as Float32Array;
    // softmax(q . k + bias) @ v, per sequence and head
    for (let b = 0; b < B; b++)
      for (let h = 0; h < N; h++) {
        const at = (t: number[], j: number, d: number) => t[(b * L + j) * N * D + h * D + d]!;
        const scores = [0, 1, 2].map(
          (j) =>
            Q[b * N * D + h * D]! * at(K, j, 0) + Q[b * N * D + h * D + 1]! * at(K, j, 1) + BIAS[b * L + j]!,
        );
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const sum = e.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) {
          const want = e.reduce((acc, w, j) => acc + (w / sum) * at(V, j, d), 0);
          assert.ok(Math.abs(got[b * N * D + h * D + d]! - want) < 1e-5, `b${b} h${h} d${d}`);
        }
      }
  });
});
