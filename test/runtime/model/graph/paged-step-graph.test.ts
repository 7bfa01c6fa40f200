// The paged device step as written (graph/paged-attention.ts). ONNX Runtime has no CPU kernel for
// PagedAttention, so this checks the graph's form only; `npm run test:gpu` runs the engine's tests
// through it on WebGPU against full recompute and the reference.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Architecture, resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import { buildDeviceGraphs, GraphBuildError } from '../../../../runtime/model/graph/index.ts';
import { decodeModel } from '../../../../runtime/model/onnx/index.ts';
import { randomModel } from './random-model.ts';

const llama: Architecture = {
  type: 'decoder-only-transformer',
  vocab_size: 32,
  context_length: 64,
  d_model: 64,
  n_layer: 3,
  n_head: 4,
  n_kv_head: 2,
  head_dim: 16,
  d_ff: 48,
  norm_eps: 1e-6,
  norm: 'rmsnorm',
  position: 'rope',
  mlp: 'swiglu',
  rope: { theta: 10000 },
};

describe('the paged device step: one PagedAttention a layer over pools it writes in place (form only: no CPU kernel)', () => {
  const a = resolveArchitecture(llama);
  const { index } = randomModel(a, 3);
  const step = decodeModel(
    buildDeviceGraphs(a, index, 'float16', 'w.bin', 'm', undefined, 'paged').step,
  ).graph!;

  it('each layer attends in one PagedAttention node, reading its own float16 pools', () => {
    const nodes = step.node!.filter((n) => n.op_type === 'PagedAttention');
    assert.equal(nodes.length, a.n_layer);
    nodes.forEach((n, l) => {
      assert.equal(n.domain, 'com.microsoft');
      assert.equal(n.input![3], `k_pool_${l}`);
      assert.equal(n.input![4], `v_pool_${l}`);
      assert.equal(n.input![16], 'attention_bounds');
      // q, k and v packed (no separate key or value), the cache outputs left out: written in place.
      assert.deepEqual([n.input![1], n.input![2]], ['', '']);
      assert.equal(n.output!.length, 1);
      const attr = Object.fromEntries(n.attribute!.map((x) => [x.name, x.i ?? x.f]));
      assert.equal(attr.num_heads, a.n_head);
      assert.equal(attr.kv_num_heads, a.n_kv_head);
      assert.equal(attr.do_rotary, 1);
    });
    for (const op of ['ScatterND', 'MultiHeadAttention', 'RotaryEmbedding'])
      assert.ok(!step.node!.some((n) => n.op_type === op), `${op} in the paged step`);
  });

  it('the pools are [blocks, block size, KVH, Dh] float16 inputs, and only what sampling reads comes back', () => {
    const pools = step.input!.filter((i) => /^[kv]_pool_\d+$/.test(i.name!));
    assert.equal(pools.length, 2 * a.n_layer);
    for (const p of pools) {
      assert.equal(p.type!.tensor_type!.elem_type, 10);
      const dims = p.type!.tensor_type!.shape!.dim!.map((d) => d.dim_value ?? d.dim_param);
      assert.deepEqual(dims.slice(2).map(Number), [a.n_kv_head, a.head_dim]);
    }
    assert.deepEqual(step.output!.map((o) => o.name).sort(), ['greedy', 'logits']);
    assert.ok(!step.input!.some((i) => i.name === 'write_index'));
  });

  it('float32 pools and head sizes the kernel refuses are refused with a stable code', () => {
    const refused = (e: unknown) => e instanceof GraphBuildError && e.code === 'device_graph_unsupported';
    assert.throws(() => buildDeviceGraphs(a, index, 'float32', 'w.bin', 'm', undefined, 'paged'), refused);
    const narrow = resolveArchitecture({ ...llama, d_model: 32, head_dim: 8 });
    const w = randomModel(narrow, 3).index;
    assert.throws(() => buildDeviceGraphs(narrow, w, 'float16', 'w.bin', 'm', undefined, 'paged'), refused);
  });

  it('a float16 step: weights and activations float16, the kernel fed as they are, the logits cast once', () => {
    const half = decodeModel(
      buildDeviceGraphs(a, index, 'float16', 'w.bin', 'm', undefined, 'paged', 'float16').step,
    ).graph!;
    const producer = new Map(half.node!.flatMap((n) => n.output!.map((o) => [o, n] as const)));
    const readers = (t: string) => half.node!.filter((n) => n.input!.includes(t));
    const paged = half.node!.filter((n) => n.op_type === 'PagedAttention');
    assert.equal(paged.length, a.n_layer);
    for (const n of paged) {
      assert.equal(producer.get(n.input![0]!)!.op_type, 'MatMul', 'q, k and v straight from their product');
      assert.deepEqual(
        readers(n.output![0]!).map((r) => r.op_type),
        ['MatMul'],
        'the output straight into o_proj',
      );
    }
    // The random model's float32 weights become float16 under their own names (folded at load).
    const toHalf = half.node!.filter((n) => n.op_type === 'Cast' && n.attribute![0]!.i === 10);
    assert.ok(toHalf.some((n) => n.output![0] === 'l0.wq' && n.input![0] === 'l0.wq.fp32'));
    assert.ok(toHalf.some((n) => n.output![0] === 'tok_emb'));
    // (The greedy rows' token ids are cast too: not an activation.)
    const toFloat = half.node!.filter(
      (n) =>
        n.op_type === 'Cast' && n.attribute![0]!.i === 1 && producer.get(n.input![0]!)?.op_type !== 'ArgMax',
    );
    assert.equal(toFloat.length, 1, 'one Cast back to float32');
    assert.equal(producer.get(toFloat[0]!.input![0]!)!.op_type, 'Gemm', 'the logits');
  });

  it('a float16 step without PagedAttention, or with adapters, is refused with a stable code', () => {
    const refused = (e: unknown) => e instanceof GraphBuildError && e.code === 'device_graph_unsupported';
    assert.throws(
      () => buildDeviceGraphs(a, index, 'float16', 'w.bin', 'm', undefined, 'fused', 'float16'),
      refused,
    );
    const lora = { slots: 3, maxRank: 4, targets: ['q_proj'] as const };
    assert.throws(
      () => buildDeviceGraphs(a, index, 'float16', 'w.bin', 'm', lora as never, 'paged', 'float16'),
      refused,
    );
  });
});
