/**
 * npm run profile:ops [-- --json] [--ep webgpu] [--rows 32] [--width 256] [--nodes 64] [--reps 20]
 *
 * What one node of each op type costs on an execution provider (GPU hosts: webgpu), at the shapes a
 * small model's decode step has: for each op, a chain of N nodes (each reads the one before) against a
 * chain of 1, so the slope is the cost of one node; beside it the process's CPU time over the same runs
 * (every thread's, the driver's and Dawn's too: on WebGPU it runs far above wall time, so it does not
 * say where a node's time goes). And K small host inputs a run, fed one tensor each against packed in one
 * and split on the device (`--inputs K`): what a step's inputs cost on their way up (BENCHMARKS.md).
 */
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { DataType, encodeModel, Graph, NEG } from '../model/onnx/index.ts';
import { timeRuns } from './gpu-steps.ts';
import { describeMachine } from './machine.ts';
import { percentile } from './workload.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    ep: { type: 'string', default: 'webgpu' },
    rows: { type: 'string', default: '32' },
    width: { type: 'string', default: '256' },
    nodes: { type: 'string', default: '64' },
    reps: { type: 'string', default: '20' },
    ops: { type: 'string' },
    // Small host inputs per run, fed one tensor each against packed in one and split on the device.
    inputs: { type: 'string', default: '14' },
  },
});
const log = (...a: unknown[]) => (o.json ? console.error(...a) : console.log(...a));
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const T = Number(o.rows);
const D = Number(o.width);
const reps = Number(o.reps);
const { FLOAT: F } = DataType;

/** One link of a chain: x [T, D] in, [T, D] out. */
type Link = (g: Graph, x: string) => string;

const seq = (n: number) => Array.from({ length: n }, (_, i) => i);
const LINKS: Record<string, Link> = {
  Add: (g, x) => g.op('Add', [x, g.full([T, D], 0)]),
  AddBroadcast: (g, x) => g.op('Add', [x, g.full([D], 0)]),
  Mul: (g, x) => g.op('Mul', [x, g.full([T, D], 1)]),
  Sub: (g, x) => g.op('Sub', [x, g.full([D], 0)]),
  Min: (g, x) => g.op('Min', [x, g.full([D], 1e30)]),
  MatMul: (g, x) => g.matmul(x, g.full([D, D], 1 / D)),
  Gemm: (g, x) => g.op('Gemm', [x, g.full([D, D], 1 / D)]),
  GemmBias: (g, x) => g.op('Gemm', [x, g.full([D, D], 1 / D), x]),
  GemmTransB: (g, x) => g.op('Gemm', [x, g.full([D, D], 1 / D)], { transB: 1 }),
  Gather: (g, x) => g.op('Gather', [x, g.const(seq(T).reverse())], { axis: 0 }),
  Transpose: (g, x) => g.transpose(g.reshape(x, [T, 2, D / 2]), [0, 2, 1]), // 2 nodes: Reshape + Transpose
  Reshape: (g, x) => g.reshape(x, [T, D]),
  Where: (g, x) => g.op('Where', [allTrue(g), x, g.const(NEG, 'float32')]),
  // float32 -> float16 (10) -> float32.
  Cast: (g, x) => g.op('Cast', [g.op('Cast', [x], { to: 10 })], { to: F }), // 2 nodes
  SplitConcat: (g, x) => {
    const parts = [`${x}_a`, `${x}_b`];
    g.node('Split', [x, g.const([D / 2, D / 2])], parts, { axis: 1 });
    return g.op('Concat', parts, { axis: 1 }); // 2 nodes
  },
  Softmax: (g, x) => g.op('Softmax', [x], { axis: -1 }),
};

const trues = new WeakMap<Graph, string>();
/** A bool [D], all true, made once a graph on the device (as a step's mask is). */
function allTrue(g: Graph): string {
  let t = trues.get(g);
  if (t === undefined) {
    t = g.op('Less', [g.const(seq(D), 'float32'), g.const(D, 'float32')]);
    trues.set(g, t);
  }
  return t;
}

/** Nodes each link writes (two for the forms that need a pair to keep the shape). */
const NODES_PER_LINK: Record<string, number> = { Transpose: 2, Cast: 2, SplitConcat: 2 };

function chain(link: Link, n: number): Uint8Array {
  const g = new Graph(`ops_${n}`);
  let x = g.input('x', F, [T, D]);
  for (let i = 0; i < n; i++) x = link(g, x);
  // One element back to the host, so a run is whole.
  g.node('Slice', [g.reshape(x, [-1]), g.const([0]), g.const([1])], ['first']);
  g.output('first', F, [1]);
  return encodeModel(g.model({}));
}

async function timeChain(link: Link, n: number): Promise<{ ms: number; cpuMs: number }> {
  const s = await ort.InferenceSession.create(chain(link, n), {
    executionProviders: [o.ep],
    graphOptimizationLevel: 'disabled', // every node a dispatch
    logSeverityLevel: 3,
  });
  const x = new ort.Tensor('float32', new Float32Array(T * D).fill(1), [T, D]);
  const timing = await timeRuns(reps, () => s.run({ x }));
  await s.release();
  return { ms: timing.medianMs, cpuMs: timing.cpuMs };
}

const n = Number(o.nodes);
const names = o.ops ? o.ops.split(',') : Object.keys(LINKS);
const ops: Record<string, { us_per_node: number; cpu_us_per_node: number }> = {};
for (const name of names) {
  const link = LINKS[name];
  if (!link) throw new Error(`--ops: no op ${name}; known: ${Object.keys(LINKS).join(', ')}`);
  const one = await timeChain(link, 1);
  const many = await timeChain(link, n);
  const nodes = (n - 1) * (NODES_PER_LINK[name] ?? 1);
  ops[name] = {
    us_per_node: r3((1000 * (many.ms - one.ms)) / nodes),
    cpu_us_per_node: r3((1000 * (many.cpuMs - one.cpuMs)) / nodes),
  };
  log(`${name}: ${ops[name].us_per_node} µs a node, host CPU ${ops[name].cpu_us_per_node} µs`);
}
/**
 * K small host inputs [16] a run (as a step's ids, positions and layout are), each read by a device
 * kernel (an Add for floats, a Gather's indices for int64): fed as K tensors, against one packed tensor
 * that a Split (its sizes a host input, which stays on the host) cuts on the device.
 */
function inputsGraph(k: number, dtype: 'float32' | 'int64', packed: boolean): Uint8Array {
  const g = new Graph(`inputs_${k}`);
  const type = dtype === 'float32' ? F : DataType.INT64;
  let parts: string[];
  if (packed) {
    parts = seq(k).map((i) => `part_${i}`);
    g.node('Split', [g.input('packed', type, [16 * k]), g.input('sizes', DataType.INT64, [k])], parts, {
      axis: 0,
    });
  } else parts = seq(k).map((i) => g.input(`x_${i}`, type, [16]));
  const table = g.const(seq(1024), 'float32');
  const read = parts.map((x) =>
    dtype === 'float32' ? g.op('Add', [x, g.const(1, 'float32')]) : g.op('Gather', [table, x], { axis: 0 }),
  );
  const all = k === 1 ? read[0]! : g.op('Concat', read, { axis: 0 });
  g.node('Slice', [all, g.const([0]), g.const([1])], ['first']);
  g.output('first', F, [1]);
  return encodeModel(g.model({}));
}

async function timeInputs(k: number, dtype: 'float32' | 'int64', packed: boolean): Promise<number> {
  const s = await ort.InferenceSession.create(inputsGraph(k, dtype, packed), {
    executionProviders: [o.ep],
    logSeverityLevel: 3,
  });
  const host = (len: number) =>
    dtype === 'float32'
      ? new ort.Tensor('float32', new Float32Array(len).fill(3), [len])
      : new ort.Tensor('int64', new BigInt64Array(len).fill(3n), [len]);
  const times: number[] = [];
  for (let i = 0; i < reps + 3; i++) {
    // New host arrays every run, as a step's are.
    const feeds: Record<string, ort.Tensor> = packed
      ? { packed: host(16 * k), sizes: new ort.Tensor('int64', new BigInt64Array(k).fill(16n), [k]) }
      : Object.fromEntries(seq(k).map((j) => [`x_${j}`, host(16)]));
    const t = performance.now();
    await s.run(feeds);
    if (i >= 3) times.push(performance.now() - t);
  }
  await s.release();
  return r3(percentile(times, 50));
}

const K = Number(o.inputs);
const inputs: Record<string, Record<string, number>> = {};
for (const dtype of ['float32', 'int64'] as const) {
  inputs[dtype] = {
    one_ms: await timeInputs(1, dtype, false),
    separate_ms: await timeInputs(K, dtype, false),
    packed_ms: await timeInputs(K, dtype, true),
  };
  log(`${K} ${dtype} inputs: ${JSON.stringify(inputs[dtype])}`);
}

const result = { machine: describeMachine(), ep: o.ep, rows: T, width: D, nodes: n, ops, inputs };
console.log(o.json ? JSON.stringify(result) : result);
