/**
 * npm run profile:ops [-- --json] [--ep webgpu] [--rows 32] [--width 256] [--nodes 64] [--reps 20]
 *
 * What one node of each op type costs on an execution provider (GPU hosts: webgpu), at the shapes a
 * small model's decode step has: for each op, a chain of N nodes (each reads the one before) against a
 * chain of 1, so the slope is the cost of one node, and the process's CPU time over the same runs, so a
 * cost the host spends (dispatch) shows apart from one the device spends. The step graphs are written
 * from ops that measure cheap here (BENCHMARKS.md).
 */
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { DataType, encodeModel, Graph, NEG } from '../model/onnx/index.ts';
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

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timeChain(link: Link, n: number): Promise<{ ms: number; cpuMs: number }> {
  const s = await ort.InferenceSession.create(chain(link, n), {
    executionProviders: [o.ep],
    graphOptimizationLevel: 'disabled', // every node a dispatch
    logSeverityLevel: 3,
  });
  const x = new ort.Tensor('float32', new Float32Array(T * D).fill(1), [T, D]);
  const times: number[] = [];
  let cpu = 0;
  for (let i = 0; i < reps + 3; i++) {
    const c = cpuNow();
    const t = performance.now();
    await s.run({ x });
    if (i >= 3) {
      times.push(performance.now() - t);
      cpu += cpuNow() - c;
    }
  }
  await s.release();
  return { ms: percentile(times, 50), cpuMs: cpu / reps };
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
const result = { machine: describeMachine(), ep: o.ep, rows: T, width: D, nodes: n, ops };
console.log(o.json ? JSON.stringify(result) : result);
