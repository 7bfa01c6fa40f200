import { type GraphProto, type ModelProto, MS_DOMAIN, type NodeProto } from '../onnx/index.ts';
import { GraphBuildError } from './graph-build-error.ts';
import type { BlockQuantization, WeightIndex } from './weight-index.ts';
import { blockNames } from './weights.ts';

type Attribute = NonNullable<NodeProto['attribute']>[number];
const int = (name: string, i: number): Attribute => ({ name, i, type: 2 }); // AttributeType.INT

/**
 * The graphs are written as if every weight were float32; where the index stores a weight as 4-bit
 * blocks, each product that reads it (x @ W, or lm_head's transposed Gemm) becomes one MatMulNBits
 * over its codes, scales and zero points, keeping the node's place and output name, in the graph and in
 * both branches of the engine's If. Done on the finished model because the builder's Graph writes nodes
 * of the default domain only. Returns `model` itself when nothing is 4-bit, so float32 and float16
 * graphs are byte for byte what the builder wrote.
 */
export function withMatMulNBits(model: ModelProto, index: WeightIndex): ModelProto {
  const packed = new Map<string, BlockQuantization>();
  for (const [name, e] of Object.entries(index)) if (e.quantization) packed.set(name, e.quantization);
  if (packed.size === 0) return model;
  return {
    ...model,
    graph: rewrite(model.graph!, packed),
    opset_import: [
      ...(model.opset_import ?? []).filter((o) => o.domain !== MS_DOMAIN),
      { domain: MS_DOMAIN, version: 1 },
    ],
  };
}

function rewrite(g: GraphProto, packed: ReadonlyMap<string, BlockQuantization>): GraphProto {
  return { ...g, node: g.node?.map((n) => rewriteNode(n, packed)) };
}

function rewriteNode(n: NodeProto, packed: ReadonlyMap<string, BlockQuantization>): NodeProto {
  const inputs = n.input ?? [];
  const weight = inputs.find((i) => packed.has(i));
  if (weight === undefined) {
    // An If's branches read the enclosing graph's weights by name.
    if (!n.attribute?.some((a) => a.g)) return n;
    return { ...n, attribute: n.attribute.map((a) => (a.g ? { ...a, g: rewrite(a.g, packed) } : a)) };
  }
  const attrs = new Map((n.attribute ?? []).map((a) => [a.name, a.i]));
  const isProduct =
    inputs.length === 2 &&
    inputs[1] === weight &&
    ((n.op_type === 'MatMul' && attrs.size === 0) ||
      (n.op_type === 'Gemm' && attrs.size === 1 && attrs.get('transB') === 1));
  if (!isProduct)
    throw new GraphBuildError(
      'weight_dtype_unsupported',
      `${weight} is stored as 4-bit blocks, but a ${n.op_type} node reads it other than as x @ W: store it as float16 or float32`,
    );
  const q = packed.get(weight)!;
  const names = blockNames(weight);
  return {
    ...n,
    op_type: 'MatMulNBits',
    domain: MS_DOMAIN,
    input: [inputs[0]!, names.codes, names.scales, names.zeroPoints],
    // Sorted by name, as the builder writes attributes; accuracy_level unset: A stays in its own type.
    attribute: [int('K', q.K), int('N', q.N), int('bits', q.bits), int('block_size', q.blockSize)],
  };
}
