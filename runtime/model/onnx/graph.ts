import {
  type AttributeProto,
  AttributeType,
  DataType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './schema.ts';

/** ScatterElements with reduction "max" and the Reduce* ops taking axes as an input need opset 18. */
export const OPSET = 18;
export const IR_VERSION = 8;
/** A finite "minus infinity": keeps (masked - masked) = 0 instead of NaN. */
export const NEG = -1e30;
/** ONNX Runtime's contrib operators (MultiHeadAttention, MatMulNBits, ...). */
export const MS_DOMAIN = 'com.microsoft';

/** A dimension: a size, or a name for a size known only at run time. */
export type Dim = number | string;
export type ConstType = 'int64' | 'int32' | 'float32';

/** An attribute value: an integer, a list of integers, or one of the tagged kinds below. */
export type AttrValue = number | readonly number[] | FloatAttr | StringAttr | GraphAttr;
interface FloatAttr {
  readonly kind: 'float';
  readonly value: number;
}
interface StringAttr {
  readonly kind: 'string';
  readonly value: string;
}
interface GraphAttr {
  readonly kind: 'graph';
  readonly graph: GraphProto;
}
export type Attrs = Readonly<Record<string, AttrValue>>;

/** A float attribute (a bare number is an integer attribute, as in ONNX's own helper). */
export const float = (value: number): FloatAttr => ({ kind: 'float', value });
/** A string attribute (Einsum's equation). */
export const text = (value: string): StringAttr => ({ kind: 'string', value });
/** A graph attribute: an If branch. */
export const subgraph = (graph: GraphProto): GraphAttr => ({ kind: 'graph', graph });

/**
 * A graph under construction, op by op. As a subgraph (a branch of an If node) it declares no inputs or
 * weights of its own: it reads the enclosing graph's values by name, and prefixes what it creates.
 * Node outputs are named `{prefix}{op type, lower case}_{n}` and constants `{prefix}const_{n}`, as
 * runtime/model/py/onnx_builder.py names them, so both builders write the same graph for the same calls.
 */
export class Graph {
  readonly name: string;
  readonly prefix: string;
  readonly isSubgraph: boolean;
  readonly #nodes: NodeProto[] = [];
  /** A subgraph records what it reads here too; the enclosing graph declares those for it. */
  readonly #inputs: ValueInfoProto[] = [];
  readonly #outputs: ValueInfoProto[] = [];
  readonly #initializers: TensorProto[] = [];
  readonly #consts = new Map<string, string>();
  #nextId = 0;
  /** Whether a node of MS_DOMAIN was written: the model then imports that opset too. */
  #usesContrib = false;

  constructor(name: string, opts: { prefix?: string; subgraph?: boolean } = {}) {
    this.name = name;
    this.prefix = opts.prefix ?? '';
    this.isSubgraph = opts.subgraph ?? false;
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  input(name: string, dtype: DataType, shape: readonly Dim[]): string {
    this.#inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Declares every input `sub` reads (an If's branch reads the enclosing graph's inputs). */
  declareInputsOf(sub: Graph): void {
    this.#inputs.push(...sub.#inputs);
  }

  output(name: string, dtype: DataType, shape: readonly Dim[]): void {
    this.#outputs.push(valueInfo(this.prefix + name, dtype, shape));
  }

  /** Appends a node with the given output names (unprefixed: for an If's outputs). */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Attrs = {},
    domain?: typeof MS_DOMAIN,
  ): void {
    const node: NodeProto = { input: [...inputs], output: [...outputs], op_type: opType };
    if (domain) {
      node.domain = domain;
      this.#usesContrib = true;
    }
    // Sorted by name, as onnx.helper.make_node writes them.
    const attribute = Object.keys(attrs)
      .sort()
      .map((k) => toAttribute(k, attrs[k]!));
    if (attribute.length) node.attribute = attribute;
    this.#nodes.push(node);
  }

  /** One node with one output, named `name` (prefixed) or numbered; returns the output's name. */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}, name?: string): string {
    const out = name ? this.prefix + name : this.#numbered(opType);
    this.node(opType, inputs, [out], attrs);
    return out;
  }

  /** One ONNX Runtime contrib node (MS_DOMAIN) with one output; returns the output's name. */
  contrib(opType: string, inputs: readonly string[], attrs: Attrs = {}): string {
    const out = this.#numbered(opType);
    this.node(opType, inputs, [out], attrs, MS_DOMAIN);
    return out;
  }

  /**
   * One contrib node with several outputs, of which those at `used` are named (numbered) and the rest
   * left unwritten; returns the named ones in `used`'s order.
   */
  contribOutputs(
    opType: string,
    inputs: readonly string[],
    used: readonly number[],
    attrs: Attrs = {},
  ): string[] {
    const names = Array.from({ length: Math.max(...used) + 1 }, (_, i) =>
      used.includes(i) ? this.#numbered(opType) : '',
    );
    this.node(opType, inputs, names, attrs, MS_DOMAIN);
    return used.map((i) => names[i]!);
  }

  #numbered(opType: string): string {
    return `${this.prefix}${opType.toLowerCase()}_${this.#nextId++}`;
  }

  /**
   * A constant initializer; equal constants (type, shape and bytes) are one initializer. A number is a
   * scalar unless `shape` says otherwise; an array is 1-D unless `shape` says otherwise.
   */
  const(value: number | readonly number[], dtype: ConstType = 'int64', shape?: readonly number[]): string {
    const values = typeof value === 'number' ? [value] : value;
    const dims = shape ?? (typeof value === 'number' ? [] : [values.length]);
    if (dims.reduce((a, b) => a * b, 1) !== values.length)
      throw new Error(`constant of shape [${dims.join(',')}] given ${values.length} values`);
    const bytes =
      dtype === 'float32'
        ? new Uint8Array(Float32Array.from(values).buffer)
        : dtype === 'int32'
          ? new Uint8Array(Int32Array.from(values).buffer)
          : new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
    const key = `${dtype}|${dims.join(',')}|${Buffer.from(bytes).toString('hex')}`;
    let name = this.#consts.get(key);
    if (name === undefined) {
      name = `${this.prefix}const_${this.#consts.size}`;
      const dataType = { float32: DataType.FLOAT, int32: DataType.INT32, int64: DataType.INT64 }[dtype];
      const tensor: TensorProto = { name, data_type: dataType };
      if (dims.length) tensor.dims = [...dims];
      if (dtype === 'float32') tensor.float_data = [...values];
      else if (dtype === 'int32') tensor.int32_data = [...values];
      else tensor.int64_data = [...values];
      this.#initializers.push(tensor);
      this.#consts.set(key, name);
    }
    return name;
  }

  /** A float32 constant of `shape` filled with `value` (numpy's full). */
  full(shape: readonly number[], value: number): string {
    return this.const(new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(value), 'float32', shape);
  }

  /** A weight stored outside the graph; a subgraph reads the enclosing graph's. */
  external(tensor: TensorProto): string {
    if (!this.isSubgraph) this.#initializers.push(tensor);
    return tensor.name!;
  }

  /** The graph as an If branch: it reads the enclosing graph's values, so it declares no inputs. */
  asSubgraph(): GraphProto {
    return this.#graph([]);
  }

  model(metadata: Readonly<Record<string, string>>): ModelProto {
    return {
      ir_version: IR_VERSION,
      producer_name: 'warmgate',
      graph: this.#graph(this.#inputs),
      opset_import: [
        { domain: '', version: OPSET },
        ...(this.#usesContrib ? [{ domain: MS_DOMAIN, version: 1 }] : []),
      ],
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
  }

  #graph(inputs: ValueInfoProto[]): GraphProto {
    return {
      node: this.#nodes,
      name: this.name,
      initializer: this.#initializers,
      input: inputs,
      output: this.#outputs,
    };
  }

  // The small vocabulary every graph uses.
  matmul(a: string, b: string): string {
    return this.op('MatMul', [a, b]);
  }

  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.const(shape)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm });
  }

  reduceMax(x: string, axis: number): string {
    return this.op('ReduceMax', [x, this.const([axis])], { keepdims: 1 });
  }

  reduceSum(x: string, axis: number): string {
    return this.op('ReduceSum', [x, this.const([axis])], { keepdims: 1 });
  }

  layerNorm(x: string, w: string, b: string, eps: number): string {
    return this.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: float(eps) });
  }

  /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)); ONNX Runtime fuses this pattern into one Gelu kernel. */
  gelu(x: string): string {
    const inner = this.op('Erf', [this.op('Div', [x, this.const(Math.SQRT2, 'float32')])]);
    return this.op('Mul', [
      this.op('Mul', [x, this.const(0.5, 'float32')]),
      this.op('Add', [inner, this.const(1.0, 'float32')]),
    ]);
  }
}

function valueInfo(name: string, dtype: DataType, shape: readonly Dim[]): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: dtype, shape: { dim } } } };
}

function toAttribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer (use float())`);
    return { name, i: v, type: AttributeType.INT };
  }
  if (Array.isArray(v)) return { name, ints: [...(v as readonly number[])], type: AttributeType.INTS };
  const tagged = v as FloatAttr | StringAttr | GraphAttr;
  if (tagged.kind === 'float') return { name, f: tagged.value, type: AttributeType.FLOAT };
  if (tagged.kind === 'string')
    return { name, s: new TextEncoder().encode(tagged.value), type: AttributeType.STRING };
  return { name, g: tagged.graph, type: AttributeType.GRAPH };
}
