/**
 * npm run bench:lora-forms [-- --json] [--runs 300]
 *
 * One target projection's adapter product (the demo model's q_proj: 256 → 256, rank 16, 65 slots) in
 * several graph forms, on two step shapes bench:lora's workload has: a step with prompt tokens (two
 * prefill chunks of 120 and 75 tokens, 35 decodes alone under their adapters, 5 pairs; 42 slots) and
 * 64 decodes under 64 adapters. Each form is a standalone graph on ONNX Runtime's CPU provider (2
 * threads, as bench:lora), timed over --runs runs after a warm-up, and checked against the segmented
 * form (lora.ts's, which engine.onnx runs):
 *
 *   segments  lora.ts: token rows, A and B gathered per segment of one slot, two batched MatMuls
 *   moe       ONNX Runtime's MoE contrib op (a grouped GEMM), k = 1, identity activation
 *   singles   decodes alone as per-token products, chunks in wide segments
 *   grid      small groups over every slot's matrices where they lie (no gather), chunks in wide segments
 *
 * BENCHMARKS.md (LoRA section) reads it: what an adapter step costs on the CPU is these products.
 */
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { adapterSegments } from '../engine/runner/adapter-segments.ts';
import { DataType, encodeModel, Graph, text } from '../model/onnx/index.ts';
import { describeMachine } from './machine.ts';

const { values: o } = parseArgs({
  options: { json: { type: 'boolean', default: false }, runs: { type: 'string', default: '300' } },
});
const S = 65;
const R = 16;
const H = 256;
const RUNS = Number(o.runs);
const F = DataType.FLOAT;
const I = DataType.INT64;

// Seeded, so every run of the bench multiplies the same numbers.
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const A = Float32Array.from({ length: S * H * R }, rnd); // [S, in, R], the stacks' layout
const B = Float32Array.from({ length: S * R * H }, rnd); // [S, R, out]

const f32 = (d: Float32Array, dims: number[]) => new ort.Tensor('float32', d, dims);
const i64 = (d: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(d, (v) => BigInt(v))), dims);
const open = (g: Graph) =>
  ort.InferenceSession.create(encodeModel(g.model({})), {
    intraOpNumThreads: 2,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });

/** cells [U, P, in] times each segment's gathered A and B: [U * P, out]. */
function segmentProduct(g: Graph, x: string, slots: string, tokens: string): string {
  const a = g.op('Gather', ['A', slots], { axis: 0 });
  const b = g.op('Gather', ['B', slots], { axis: 0 });
  return g.op('Flatten', [g.matmul(g.matmul(g.op('Gather', [x, tokens], { axis: 0 }), a), b)], { axis: 2 });
}

function graph(form: string): Graph {
  const g = new Graph(form);
  g.input('x', F, ['T', H]);
  g.input('A', F, [S, H, R]);
  g.input('B', F, [S, R, H]);
  g.input('rows', I, ['T']);
  let all: string;
  if (form === 'moe') {
    g.input('router', F, ['T', S]);
    g.input('fc1', F, [S, R, H]);
    g.input('fc2', F, [S, H, R]);
    const moe = g.contrib('MoE', ['x', 'router', 'fc1', '', 'fc2'], {
      k: 1,
      activation_type: text('identity'),
      normalize_routing_weights: 1,
    });
    g.node('Gather', [moe, 'rows'], ['y'], { axis: 0 });
    g.output('y', F, ['T', H]);
    return g;
  }
  g.input('seg_slot', I, ['U']);
  g.input('seg_tokens', I, ['U', 'P']);
  const wide = segmentProduct(g, 'x', 'seg_slot', 'seg_tokens');
  if (form === 'segments') all = wide;
  else if (form === 'singles') {
    g.input('one_slot', I, ['U1']);
    g.input('one_token', I, ['U1', 1]);
    all = g.op('Concat', [segmentProduct(g, 'x', 'one_slot', 'one_token'), wide], { axis: 0 });
  } else {
    // Every slot's P1 cells read its own A and B in place: [S, P1, in] @ [S, in, R] @ [S, R, out].
    g.input('grid_tokens', I, [S, 'P1']);
    const grid = g.matmul(g.matmul(g.op('Gather', ['x', 'grid_tokens'], { axis: 0 }), 'A'), 'B');
    all = g.op('Concat', [g.op('Flatten', [grid], { axis: 2 }), wide], { axis: 0 });
  }
  g.node('Gather', [all, 'rows'], ['y'], { axis: 0 });
  g.output('y', F, ['T', H]);
  return g;
}

/** Each form's feeds for a step whose token t runs under slot[t]. */
function feeds(form: string, slot: number[], x: Float32Array): Record<string, ort.Tensor> {
  const T = slot.length;
  const base = { x: f32(x, [T, H]), A: f32(A, [S, H, R]), B: f32(B, [S, R, H]) };
  const groups = new Map<number, number[]>();
  slot.forEach((s, t) => groups.set(s, [...(groups.get(s) ?? []), t]));
  // Tokens taken apart from the wide segments (singles: groups of one; grid: groups up to P1).
  const P1 = 2;
  const apart = (n: number) => (form === 'singles' ? n === 1 : form === 'grid' ? n <= P1 : false);
  const rest = slot.map((s, t) => [s, t] as const).filter(([s]) => !apart(groups.get(s)!.length));
  const seg = adapterSegments(Int32Array.from(rest.length ? rest.map(([s]) => s) : [0]), R);
  const segTokens = Array.from(seg.segmentTokens, (i) => (rest.length ? rest[Number(i)]![1] : 0));
  const rows = new Array<number>(T);
  let offset = 0;
  const out: Record<string, ort.Tensor> = { ...base };
  if (form === 'moe') {
    const router = new Float32Array(T * S).fill(-1e4); // softmax of one 0 among -1e4s: exactly 1
    slot.forEach((s, t) => (router[t * S + s] = 0));
    const fc1 = new Float32Array(S * R * H); // A as [S, R, in] (PEFT's lora_A), B as [S, out, R]
    const fc2 = new Float32Array(S * H * R);
    for (let s = 0; s < S; s++)
      for (let i = 0; i < H; i++)
        for (let r = 0; r < R; r++) {
          fc1[(s * R + r) * H + i] = A[(s * H + i) * R + r]!;
          fc2[(s * H + i) * R + r] = B[(s * R + r) * H + i]!;
        }
    return {
      ...out,
      router: f32(router, [T, S]),
      fc1: f32(fc1, [S, R, H]),
      fc2: f32(fc2, [S, H, R]),
      rows: i64(
        slot.map((_, t) => t),
        [T],
      ),
    };
  }
  if (form === 'singles') {
    const ones = slot.map((s, t) => [s, t] as const).filter(([s]) => groups.get(s)!.length === 1);
    ones.forEach(([, t], i) => (rows[t] = i));
    offset = ones.length;
    out.one_slot = i64(
      ones.map(([s]) => s),
      [ones.length],
    );
    out.one_token = i64(
      ones.map(([, t]) => t),
      [ones.length, 1],
    );
  } else if (form === 'grid') {
    const cells = new Array<number>(S * P1).fill(0);
    for (const [s, tokens] of groups)
      if (apart(tokens.length))
        tokens.forEach((t, j) => {
          cells[s * P1 + j] = t;
          rows[t] = s * P1 + j;
        });
    offset = S * P1;
    out.grid_tokens = i64(cells, [S, P1]);
  }
  rest.forEach(([, t], i) => (rows[t] = offset + Number(seg.tokenRow[i])));
  out.seg_slot = new ort.Tensor('int64', seg.segmentSlot, [seg.segments]);
  out.seg_tokens = i64(segTokens, [seg.segments, seg.width]);
  out.rows = i64(rows, [T]);
  return out;
}

const steps: Record<string, number[]> = { prompt_step: [], decodes: [] };
for (const [n, s] of [
  [120, 1],
  [75, 2],
])
  for (let i = 0; i < n!; i++) steps.prompt_step!.push(s!);
for (let i = 0; i < 35; i++) steps.prompt_step!.push(3 + i);
for (let i = 0; i < 10; i++) steps.prompt_step!.push(38 + (i >> 1));
for (let i = 0; i < 64; i++) steps.decodes!.push(1 + i);

const FORMS = ['segments', 'moe', 'singles', 'grid'];
const sessions = new Map(await Promise.all(FORMS.map(async (f) => [f, await open(graph(f))] as const)));
const result: Record<string, Record<string, { ms: number; max_diff: number }>> = {};
for (const [step, slot] of Object.entries(steps)) {
  const x = Float32Array.from({ length: slot.length * H }, rnd);
  const want = (await sessions.get('segments')!.run(feeds('segments', slot, x))).y!.data as Float32Array;
  result[step] = {};
  for (const form of FORMS) {
    const s = sessions.get(form)!;
    const f = feeds(form, slot, x);
    const got = (await s.run(f)).y!.data as Float32Array;
    let diff = 0;
    for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    for (let i = 0; i < 20; i++) await s.run(f);
    const t0 = performance.now();
    for (let i = 0; i < RUNS; i++) await s.run(f);
    result[step][form] = { ms: Math.round(((performance.now() - t0) / RUNS) * 1000) / 1000, max_diff: diff };
  }
}
const report = {
  machine: describeMachine(),
  runs: RUNS,
  tokens: { prompt_step: 240, decodes: 64 },
  ...result,
};
console.log(o.json ? JSON.stringify(report) : report);
