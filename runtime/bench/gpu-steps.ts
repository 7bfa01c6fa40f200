import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { KVCacheManager } from '../engine/kv/index.ts';
import { DeviceKVPool } from '../engine/runner/device-kv-pool.ts';
import { DeviceModelRunner } from '../engine/runner/device-model-runner.ts';
import { buildDeviceStepInputs, deviceStepFeeds } from '../engine/runner/device-step-inputs.ts';
import type { StepEntry, TileShape } from '../engine/runner/step-inputs.ts';
import { type LoadedModel, sessionOptions } from '../model/index.ts';
import { DataType, encodeModel, Graph } from '../model/onnx/index.ts';
import { percentile } from './workload.ts';

/*
 * What bench:gpu measures below the engine: the device's own copy and upload bandwidths (the floors'
 * denominators, measured through the same ONNX Runtime WebGPU stack the engine runs on), and one decode
 * step at a given batch, paged (the device-resident contract) and contiguous (decode_contiguous.onnx with
 * its caches uploaded once and kept on the device).
 */

const GPU = { executionProviders: ['webgpu'], logSeverityLevel: 3 } as const;

/** y = x + 0 (a read and a write of every element) kept on the device; first = y[0] to the host (a sync). */
function copyGraph(): Uint8Array {
  const g = new Graph('bench_copy');
  const x = g.input('x', DataType.FLOAT, ['N']);
  g.node('Add', [x, g.const(0, 'float32')], ['y']);
  g.node('Slice', ['y', g.const([0]), g.const([1])], ['first']);
  g.output('y', DataType.FLOAT, ['N']);
  g.output('first', DataType.FLOAT, [1]);
  return encodeModel(g.model({}));
}

/** y = x (of `dtype`) reshaped to `shape`, on the device; first = x[0] to the host (a sync). */
function uploadGraph(dtype: DataType): Uint8Array {
  const g = new Graph('bench_upload');
  const x = g.input('x', dtype, ['N']);
  const shape = g.input('shape', DataType.INT64, ['R']);
  g.node('Reshape', [x, shape], ['y']);
  g.node('Slice', [x, g.const([0]), g.const([1])], ['first']);
  g.output('y', dtype, ['S']);
  g.output('first', dtype, [1]);
  return encodeModel(g.model({}));
}

const ON_DEVICE = { y: 'gpu-buffer', first: 'cpu' } as const;

/** Device memory bandwidth in bytes/ms: y = x + 0 over `bytes` on the device (each element read and written). */
export async function deviceCopyBandwidth(bytes = 2 ** 30, reps = 20): Promise<number> {
  const add = await ort.InferenceSession.create(copyGraph(), { ...GPU, preferredOutputLocation: ON_DEVICE });
  const x = await upload(new Float32Array(bytes / 4));
  const times: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    const t = performance.now();
    const out = await add.run({ x });
    if (i >= 2) times.push(performance.now() - t);
    out.y!.dispose();
  }
  x.dispose();
  await add.release();
  return (2 * bytes) / percentile(times, 50);
}

const uploaders = new Map<'float32' | 'int64', Promise<ort.InferenceSession>>();

/** A host array (float32 or int64) on the device, shaped `dims`. */
export async function upload(
  data: Float32Array | BigInt64Array,
  dims: readonly number[] = [data.length],
): Promise<ort.Tensor> {
  const type = data instanceof Float32Array ? 'float32' : 'int64';
  let uploader = uploaders.get(type);
  if (!uploader) {
    const graph = uploadGraph(type === 'float32' ? DataType.FLOAT : DataType.INT64);
    uploader = ort.InferenceSession.create(graph, { ...GPU, preferredOutputLocation: ON_DEVICE });
    uploaders.set(type, uploader);
  }
  const out = await (
    await uploader
  ).run({
    x: new ort.Tensor(type, data, [data.length]),
    shape: new ort.Tensor(
      'int64',
      BigInt64Array.from(dims, (d) => BigInt(d)),
      [dims.length],
    ),
  });
  return out.y!;
}

/** Host-to-device bandwidth in bytes/ms: `bytes` of float32 uploaded. */
export async function uploadBandwidth(bytes = 2 ** 30, reps = 5): Promise<number> {
  const data = new Float32Array(bytes / 4).fill(1);
  const times: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t = performance.now();
    const x = await upload(data);
    if (i >= 1) times.push(performance.now() - t);
    x.dispose();
  }
  return bytes / percentile(times, 50);
}

export interface StepTiming {
  readonly medianMs: number;
  readonly p90Ms: number;
  /** The process's CPU time per step, all threads (ONNX Runtime's and Dawn's too), mean over the timed steps. */
  readonly cpuMs: number;
}

/** CPU time (user + system, every thread of the process) in ms. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** `run` timed `reps` times after 3 untimed warm-ups: wall time per run, and the process's CPU time. */
export async function timeRuns(reps: number, run: () => Promise<unknown>): Promise<StepTiming> {
  const times: number[] = [];
  let cpu = 0;
  for (let i = 0; i < reps + 3; i++) {
    const c = cpuNow();
    const t = performance.now();
    await run();
    if (i >= 3) {
      times.push(performance.now() - t);
      cpu += cpuNow() - c;
    }
  }
  return { medianMs: percentile(times, 50), p90Ms: percentile(times, 90), cpuMs: cpu / reps };
}

/**
 * `batch` sequences each `context - 1` tokens cached and one new token, their blocks from the engine's
 * allocator grown in turn (as concurrent decodes place them), on a device pool of `poolFactor` times the
 * blocks they use. The pool's contents do not change what a step reads, only where.
 */
function decodeBatch(
  model: LoadedModel,
  batch: number,
  context: number,
  shape: TileShape,
  poolFactor: number,
): { pool: DeviceKVPool; entries: StepEntry[] } {
  const blocksPerSeq = Math.ceil(context / shape.blockSize);
  const numBlocks = batch * blocksPerSeq * poolFactor;
  const kv = new KVCacheManager({
    numBlocks,
    blockSize: shape.blockSize,
    modelId: 'bench',
    enablePrefixCaching: false,
    tileBlocks: shape.tileBlocks,
  });
  for (let i = 1; i <= blocksPerSeq; i++)
    for (let b = 0; b < batch; b++) kv.allocateSlots(`s${b}`, Math.min(context, i * shape.blockSize));
  const pool = new DeviceKVPool(model.manifest.architecture, shape, numBlocks, model.device!);
  const tokens = Array.from({ length: context }, (_, i) => 3 + (i % 200));
  const entries: StepEntry[] = Array.from({ length: batch }, (_, b) => ({
    tokens,
    numComputed: context - 1,
    numNew: 1,
    blockTable: kv.blockTable(`s${b}`),
    samples: true,
  }));
  return { pool, entries };
}

/** The engine's decode step on the device-resident pool, over decodeBatch's sequences. */
export async function pagedDecodeStep(
  model: LoadedModel,
  batch: number,
  context: number,
  shape: TileShape,
  reps: number,
  /** The pool holds this many times the blocks the batch uses (the rest idle, as a serving pool's are). */
  poolFactor = 1,
  /** false: the rows' greedy tokens come back, not their logits (as for greedy requests). */
  wholeLogits = true,
): Promise<StepTiming> {
  const batchEntries = decodeBatch(model, batch, context, shape, poolFactor);
  const { pool } = batchEntries;
  const entries = batchEntries.entries.map((e) => ({ ...e, wholeLogits }));
  const runner = new DeviceModelRunner(model, pool);
  const timing = await timeRuns(reps, () => runner.step(entries, []));
  pool.dispose();
  return timing;
}

/**
 * decode_contiguous.onnx on the device: each sequence's whole context in its own cache, uploaded once
 * and read in place. Its new keys and values come back to the host and are not written into the cache
 * (a contiguous engine would write them on the device): the baseline does less than the paged step.
 */
export async function contiguousDecodeStep(
  model: LoadedModel,
  batch: number,
  context: number,
  reps: number,
): Promise<StepTiming> {
  const a = model.manifest.architecture;
  const file = model.manifest.files.decode_contiguous;
  if (!file) throw new Error('model has no decode_contiguous graph');
  const session = await ort.InferenceSession.create(
    join(model.dir, file.path),
    sessionOptions({ intraOpThreads: 1, executionProviders: ['webgpu'] }),
  );
  const H = a.n_kv_head;
  const D = a.head_dim;
  const C = context;
  const P = context - 1;
  const caches: ort.Tensor[] = [];
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(batch).fill(5n), [batch]),
    positions: new ort.Tensor('int64', new BigInt64Array(batch).fill(BigInt(P)), [batch]),
  };
  const mask = new Float32Array(batch * C);
  for (let b = 0; b < batch; b++) mask.fill(-1e30, b * C + P, (b + 1) * C);
  feeds.past_mask = new ort.Tensor('float32', mask, [batch, 1, 1, C]);
  const zeros = new Float32Array(batch * H * D * C);
  for (let l = 0; l < a.n_layer; l++) {
    const k = await upload(zeros, [batch, H, D, C]);
    const v = await upload(zeros, [batch, H, C, D]);
    caches.push(k, v);
    feeds[`k_past_${l}`] = k;
    feeds[`v_past_${l}`] = v;
  }
  const timing = await timeRuns(reps, () => session.run(feeds));
  for (const c of caches) c.dispose();
  await session.release();
  return timing;
}

/**
 * The step session's run alone (no engine around it), its small inputs (ids, positions, the layout:
 * a dozen host arrays) fed from the host as the runner feeds them, against the same inputs uploaded
 * before the timed runs: how much of a step is its inputs' way onto the device.
 */
export async function stepInputsSplit(
  model: LoadedModel,
  batch: number,
  context: number,
  shape: TileShape,
  reps: number,
): Promise<{ hostInputsMs: number; deviceInputsMs: number; inputs: number }> {
  const { pool, entries } = decodeBatch(model, batch, context, shape, 1);
  const hostFeeds = deviceStepFeeds(buildDeviceStepInputs(entries, shape.blockSize), shape.blockSize);
  const deviceFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(hostFeeds))
    deviceFeeds[name] = await upload(t.data as Float32Array | BigInt64Array, t.dims);
  const session = model.device!.step;
  const time = async (feeds: Record<string, ort.Tensor>) => {
    const times: number[] = [];
    for (let i = 0; i < reps + 3; i++) {
      const f = { ...feeds };
      const fetches: Record<string, ort.Tensor | null> = { logits: null };
      await pool.bind(f, fetches);
      const t = performance.now();
      const out = await session.run(f, fetches);
      if (i >= 3) times.push(performance.now() - t);
      pool.adopt(out);
    }
    return percentile(times, 50);
  };
  // Alternated, so a drift of the host's speed falls on both.
  const host: number[] = [];
  const device: number[] = [];
  for (let round = 0; round < 3; round++) {
    host.push(await time(hostFeeds));
    device.push(await time(deviceFeeds));
  }
  for (const t of Object.values(deviceFeeds)) t.dispose();
  pool.dispose();
  return {
    hostInputsMs: percentile(host, 50),
    deviceInputsMs: percentile(device, 50),
    inputs: Object.keys(hostFeeds).length,
  };
}
