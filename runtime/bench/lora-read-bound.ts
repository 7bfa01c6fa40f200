/**
 * npm run bench:lora-bound [-- --json] [--model runtime/models/demo] [--rank 16] [--slots 65] [--threads 2]
 *
 * What 64 decodes under 64 distinct adapters cost on the CPU, and what the least any kernel could make
 * them cost: the adapter products of every target projection of the model (q, k, v, o; its dims and
 * layers), on their own, as two graphs over the same slot stacks:
 * - gathers: the engine's form (graph/lora.ts with one token per segment): each segment's A and B rows
 *   gathered, then two batched MatMuls;
 * - read in place: x laid out by slot and multiplied against every slot's matrices where they lie, so
 *   each slot's A and B are read once and nothing is copied (the reads a fused gather-matmul makes;
 *   this only equals the engine's work when every slot has exactly one token, as here).
 * Beside them, the base model's own decode step of 64 tokens (the host runner, no slots), so the bound
 * on the throughput ratio for such steps reads base / (base + read in place).
 */
import ort from 'onnxruntime-node';
import { parseArgs } from 'node:util';
import { adapterSegments } from '../engine/runner/adapter-segments.ts';
import { KVCacheManager } from '../engine/kv/index.ts';
import { KVStore } from '../engine/runner/kv-store.ts';
import { ModelRunner } from '../engine/runner/model-runner.ts';
import type { StepEntry } from '../engine/runner/step-inputs.ts';
import { resolveArchitecture } from '../model/architecture.ts';
import { type LoraTarget, loraTargetDims } from '../model/graph/index.ts';
import { loadModel } from '../model/index.ts';
import { DataType, encodeModel, Graph } from '../model/onnx/index.ts';
import { mulberry32 } from '../random/mulberry32.ts';
import { describeMachine } from './machine.ts';
import { percentile } from './workload.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'runtime/models/demo' },
    rank: { type: 'string', default: '16' },
    slots: { type: 'string', default: '65' },
    tokens: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '41' },
  },
});
const R = Number(o.rank);
const S = Number(o.slots);
const T = Number(o.tokens);
const TARGETS: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const { FLOAT: F, INT64: I } = DataType;

const plain = await loadModel(o.model, { intraOpThreads: Number(o.threads) });
const arch = resolveArchitecture(plain.manifest.architecture);
const projections = Array.from({ length: arch.n_layer }, () => TARGETS)
  .flat()
  .map((t, i) => ({ name: `p${i}`, ...loraTargetDims(arch, t) }));
const D = arch.d_model;

/** The adapter products of every projection, summed per width so each is computed and read. */
function graph(form: 'gathers' | 'in place'): Uint8Array {
  const g = new Graph('lora_bound');
  const x = g.input('x', F, ['T', D]);
  const outs = new Map<number, string[]>();
  let cells: string;
  if (form === 'gathers') {
    g.input('segment_slot', I, ['U']);
    g.input('segment_tokens', I, ['U', 'P']);
    g.input('token_row', I, ['T']);
    cells = g.op('Gather', [x, 'segment_tokens'], { axis: 0 });
  } else {
    g.input('slot_token', I, [S, 1]);
    g.input('token_slot', I, ['T']);
    cells = g.op('Gather', [x, 'slot_token'], { axis: 0 }); // [S, 1, D]: slots without a token read token 0
  }
  for (const p of projections) {
    g.input(`${p.name}_a`, F, [S, p.in, R]);
    g.input(`${p.name}_b`, F, [S, R, p.out]);
    // Every projection reads x of width d_model here; o_proj's input is q-sized, equal for this model.
    const [a, b, row] =
      form === 'gathers'
        ? [
            g.op('Gather', [`${p.name}_a`, 'segment_slot'], { axis: 0 }),
            g.op('Gather', [`${p.name}_b`, 'segment_slot'], { axis: 0 }),
            'token_row',
          ]
        : [`${p.name}_a`, `${p.name}_b`, 'token_slot'];
    const delta = g.matmul(g.matmul(cells, a), b);
    const y = g.op('Gather', [g.op('Flatten', [delta], { axis: 2 }), row], { axis: 0 });
    outs.set(p.out, [...(outs.get(p.out) ?? []), y]);
  }
  [...outs.values()].forEach((ys, i) => {
    const sum = ys.slice(1).reduce((acc, y) => g.op('Add', [acc, y]), ys[0]!);
    g.node('Identity', [sum], [`y${i}`]);
    g.output(`y${i}`, F, ['T', 'out']);
  });
  return encodeModel(g.model({}));
}

if (projections.some((p) => p.in !== D)) throw new Error('this bound assumes every target reads d_model');
const rand = mulberry32(1);
const fill = (n: number) => Float32Array.from({ length: n }, () => (rand() - 0.5) * 0.1);
const stacks: Record<string, ort.Tensor> = {};
for (const p of projections) {
  stacks[`${p.name}_a`] = new ort.Tensor('float32', fill(S * p.in * R), [S, p.in, R]);
  stacks[`${p.name}_b`] = new ort.Tensor('float32', fill(S * R * p.out), [S, R, p.out]);
}
// Token i runs under slot i + 1: T distinct adapters, one decode each.
const slots = Array.from({ length: T }, (_, i) => 1 + (i % (S - 1)));
const x = new ort.Tensor('float32', fill(T * D), [T, D]);
const seg = adapterSegments(slots, R);
const slotToken = new BigInt64Array(S);
slots.forEach((s, t) => (slotToken[s] = BigInt(t)));
const feeds = {
  gathers: {
    x,
    ...stacks,
    segment_slot: new ort.Tensor('int64', seg.segmentSlot, [seg.segments]),
    segment_tokens: new ort.Tensor('int64', seg.segmentTokens, [seg.segments, seg.width]),
    token_row: new ort.Tensor('int64', seg.tokenRow, [T]),
  },
  'in place': {
    x,
    ...stacks,
    slot_token: new ort.Tensor('int64', slotToken, [S, 1]),
    token_slot: new ort.Tensor('int64', BigInt64Array.from(slots.map(BigInt)), [T]),
  },
};
const options: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: Number(o.threads),
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' } } },
};

async function medianMs(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < Number(o.reps); i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return percentile(ms, 50);
}

const sessions = {
  gathers: await ort.InferenceSession.create(graph('gathers'), options),
  'in place': await ort.InferenceSession.create(graph('in place'), options),
};
// Both forms give the same products (the bound is of the same work).
const [yg, yp] = [
  await sessions.gathers.run(feeds.gathers),
  await sessions['in place'].run(feeds['in place']),
];
for (const k of Object.keys(yg)) {
  const [a, b] = [yg[k]!.data as Float32Array, yp[k]!.data as Float32Array];
  if (a.some((v, i) => Math.abs(v - b[i]!) > 1e-5)) throw new Error(`the two forms differ in ${k}`);
}

// The base model's decode step of T tokens, each sequence 128 tokens in.
const blockSize = 16;
const runner = new ModelRunner(
  plain,
  new KVStore(plain.manifest.architecture, { blockSize, tileBlocks: 1 }, 2048),
);
const kv = new KVCacheManager({
  numBlocks: 2048,
  blockSize,
  modelId: 'm',
  enablePrefixCaching: false,
  tileBlocks: 1,
});
const context = 128;
const ids = Array.from({ length: context + 1 }, (_, i) => 1 + (i % 200));
const entries: StepEntry[] = slots.map((_, i) => {
  kv.allocateSlots(`s${i}`, context + 1);
  return { tokens: ids, numComputed: context, numNew: 1, blockTable: kv.blockTable(`s${i}`), samples: true };
});

// Interleaved rounds, so drift on a shared machine touches all three alike.
const base: number[] = [];
const gathers: number[] = [];
const inPlace: number[] = [];
for (let round = 0; round < 3; round++) {
  base.push(await medianMs(() => runner.step(entries, [])));
  gathers.push(await medianMs(() => sessions.gathers.run(feeds.gathers)));
  inPlace.push(await medianMs(() => sessions['in place'].run(feeds['in place'])));
}
const r3 = (v: number) => Math.round(v * 1000) / 1000;
const baseMs = percentile(base, 50);
const gathersMs = percentile(gathers, 50);
const inPlaceMs = percentile(inPlace, 50);
const bound = {
  machine: describeMachine(),
  model: plain.manifest.name,
  rank: R,
  slots: S,
  tokens: T,
  projections: projections.length,
  adapter_bytes_read_mb:
    Math.round((T * projections.reduce((n, p) => n + R * (p.in + p.out), 0) * 4) / 1e4) / 100,
  base_decode_step_ms: r3(baseMs),
  gathers_ms: r3(gathersMs),
  read_in_place_ms: r3(inPlaceMs),
  ratio_bound_gathers: r3(baseMs / (baseMs + gathersMs)),
  ratio_bound_read_in_place: r3(baseMs / (baseMs + inPlaceMs)),
};
await plain.release();
if (o.json) console.log(JSON.stringify(bound));
else console.log(bound);
