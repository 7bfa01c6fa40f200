/**
 * npm run bench:gpu [-- --json] [--model DIR | --checkpoint DIR] [--dtype float32|float16|int4] ...
 *
 * The engine on a GPU (ONNX Runtime's WebGPU provider, KV pool on the device) on a Llama-architecture
 * model of about 0.5 B parameters: the conversation workload of bench:runtime with continuous, static and
 * one-at-a-time batching, and the same workload through Hugging Face transformers on the same GPU with
 * the same weights (runtime/bench/py/transformers_peer.py); decode steps against the memory floor; paged
 * against contiguous; latency at ~70% load; cold start against its floor. Before timing anything it
 * checks the model's greedy tokens on the GPU against the CPU's (cpu-agreement.ts). GPU hosts only.
 *
 * Without --model it makes the checkpoint (runtime/model/py/make_bench_checkpoint.py, transformers' own
 * random init) and imports it with warmgate import: the same weights run in both systems.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine, type EngineConfig } from '../engine/index.ts';
import { importModel } from '../model/import/index.ts';
import type { ComputeDtype, StepAttention } from '../model/graph/index.ts';
import { type KvDtype, loadModel } from '../model/index.ts';
import { agreementWithCpu } from './cpu-agreement.ts';
import { DATA } from './data-files.ts';
import { runContinuous, runPaced, runSequential, runStatic } from './drive.ts';
import { contiguousDecodeStep, deviceCopyBandwidth, pagedDecodeStep, uploadBandwidth } from './gpu-steps.ts';
import { describeMachine } from './machine.ts';
import { repoRoot } from './repo-root.ts';
import { loadWorkload, percentile } from './workload.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string' },
    checkpoint: { type: 'string' },
    work: { type: 'string', default: join(tmpdir(), 'warmgate-bench-gpu') },
    dtype: { type: 'string', default: 'float32' },
    'kv-dtype': { type: 'string', default: 'float32' },
    // The device step's attention: paged (PagedAttention, float16 pools only) or fused; unset, the
    // loader's choice (paged on float16 pools).
    attention: { type: 'string' },
    // The type the paged step computes in (float32 or float16); unset, the loader's choice (float32).
    compute: { type: 'string' },
    requests: { type: 'string', default: '128' },
    'length-scale': { type: 'string', default: '0.25' },
    'max-batch': { type: 'string', default: '32' },
    // Each step copies the pools on the device (see runner/device-kv-pool.ts): a budget that fits the workload.
    'kv-mb': { type: 'string', default: '1024' },
    'block-size': { type: 'string', default: '16' },
    'tile-blocks': { type: 'string', default: '8' },
    'step-context': { type: 'string', default: '512' },
    'step-batches': { type: 'string', default: '1,8,32,64,128' },
    'step-reps': { type: 'string', default: '20' },
    peer: { type: 'boolean', default: true },
    // Phases left out of this run (agreement, peer, static, steps, paced, sequential), to fit a run into a time limit;
    // their figures are null. Continuous batching always runs (the paced load is set from it).
    skip: { type: 'string', default: '' },
    // One-at-a-time on the first N requests only (its tokens/s is a rate; the report says N).
    'sequential-requests': { type: 'string' },
    python: { type: 'string', default: 'python3' },
    // Figures so far, rewritten after each phase (a run cut short keeps what it measured).
    partial: { type: 'string' },
  },
});
const log = (...a: unknown[]) => (o.json ? console.error(...a) : console.log(...a));
const r2 = (x: number) => Math.round(x * 100) / 100;
if (!['float32', 'float16', 'int4'].includes(o.dtype))
  throw new Error(`--dtype: float32, float16 or int4, not ${o.dtype}`);
const dtype = o.dtype as 'float32' | 'float16' | 'int4';
// The peer has no int4 of these weights: it runs them at float32, and the report says so.
const peerDtype = dtype === 'int4' ? 'float32' : dtype;
const kvDtype = o['kv-dtype'] as KvDtype;
const root = repoRoot();
const skip = new Set(o.skip.split(',').filter(Boolean));
const partial: Record<string, unknown> = {};
const note = (figures: Record<string, unknown>) => {
  Object.assign(partial, figures);
  if (o.partial) writeFileSync(o.partial, JSON.stringify(partial, null, 1));
};
mkdirSync(o.work, { recursive: true });

// 1. The checkpoint and its import: the same weights for both systems.
let checkpoint = o.checkpoint;
if (o.model === undefined && checkpoint === undefined) {
  checkpoint = join(o.work, 'checkpoint');
  log(
    execFileSync(o.python, [
      join(root, 'runtime/model/py/make_bench_checkpoint.py'),
      '--tokenizer-from',
      join(root, 'test/fixtures/hf/llama'),
      '--out',
      checkpoint,
    ])
      .toString()
      .trim(),
  );
}
let modelDir = o.model;
if (modelDir === undefined) {
  modelDir = join(o.work, `model-${dtype}`);
  await importModel(checkpoint!, modelDir, { dtype, force: true });
}

// 2. Bandwidths (the floors' denominators), then the cold start: device opened, weights uploaded and
// the step graph compiled, first step run (shaders compiled), as an instance does before /ready.
const copyBytesPerMs = await deviceCopyBandwidth();
const uploadBytesPerMs = await uploadBandwidth();
log(
  `WebGPU element-wise copy ${(copyBytesPerMs / 1e6).toFixed(0)} GB/s, host-to-device ${(uploadBytesPerMs / 1e6).toFixed(1)} GB/s`,
);
if (o.compute !== undefined && o.compute !== 'float32' && o.compute !== 'float16')
  throw new Error(`--compute: float32 or float16, not ${o.compute}`);
if (o.attention !== undefined && o.attention !== 'paged' && o.attention !== 'fused')
  throw new Error(`--attention: paged or fused, not ${o.attention}`);
const load = {
  intraOpThreads: 4,
  executionProviders: ['webgpu', 'cpu'],
  deviceKv: kvDtype,
  ...(o.attention !== undefined && { deviceAttention: o.attention as StepAttention }),
  ...(o.compute !== undefined && { deviceCompute: o.compute as ComputeDtype }),
};
const blockSize = Number(o['block-size']);
const tileBlocks = Number(o['tile-blocks']);
const maxBatch = Number(o['max-batch']);
const config: Partial<EngineConfig> = {
  kvCacheBytes: Number(o['kv-mb']) * 2 ** 20,
  blockSize,
  tileBlocks,
  maxRunningSeqs: maxBatch,
  maxBatchedTokens: 2048,
  maxPrefillChunk: 512,
};
const coldStart = async () => {
  const t0 = performance.now();
  const m = await loadModel(modelDir, load);
  const loaded = performance.now();
  const e = new Engine(m, { ...config, kvCacheBytes: 64 * 2 ** 20 });
  await runContinuous(e, [{ arrivalMs: 0, prompt: [5, 6, 7], maxTokens: 2 }]);
  const warmed = performance.now();
  return { model: m, loadMs: loaded - t0, warmUpMs: warmed - loaded, totalMs: warmed - t0 };
};
const cold = await coldStart();
// A second start in this process: the device open and the shaders in Dawn's cache, as a standby
// process that opened the device ahead would have them.
await cold.model.release();
const standby = await coldStart();
const model = standby.model;
const a = model.manifest.architecture;
const weightBytes = statSync(join(modelDir, model.manifest.files.weights.path)).size;
// On the device the float weights are in the step's compute type (cast at load where stored otherwise);
// int4 stays packed.
const compute = model.device?.compute ?? 'float32';
const storedBytesPerWeight = dtype === 'float16' ? 2 : 4;
const computeBytesPerWeight = compute === 'float16' ? 2 : 4;
const deviceWeightBytes =
  dtype === 'int4' ? weightBytes : (weightBytes * computeBytesPerWeight) / storedBytesPerWeight;
const coldFloorMs = deviceWeightBytes / uploadBytesPerMs;
log(
  `cold start ${cold.totalMs.toFixed(0)} ms (load ${cold.loadMs.toFixed(0)}, warm-up ${cold.warmUpMs.toFixed(0)}); ` +
    `again in this process ${standby.totalMs.toFixed(0)} ms; floor (weights upload) ${coldFloorMs.toFixed(0)} ms`,
);

note({
  device_attention: model.device?.attention ?? null,
  device_compute: compute,
  cold_start_ms: cold.totalMs,
  cold_start_load_ms: cold.loadMs,
  cold_start_warm_up_ms: cold.warmUpMs,
  cold_start_floor_ms: coldFloorMs,
  cold_start_standby_ms: standby.totalMs,
});

// 3. The workload, in the model's own tokens.
const workload = await loadWorkload({
  tracePath: DATA.azureLlmConv,
  corpusPath: DATA.tinyShakespeare,
  contextLength: a.context_length,
  lengthScale: Number(o['length-scale']),
  count: Number(o.requests),
  encode: (text: string) => model.text.tokenizer.encode(text, { addSpecialTokens: false }),
});
// Before any timing: the model on the GPU computes what it computes on the CPU.
let agreement: Awaited<ReturnType<typeof agreementWithCpu>> | null = null;
if (!skip.has('agreement')) {
  const prompts = workload.slice(0, 6).map((r) => r.prompt.slice(0, 64));
  agreement = await agreementWithCpu(model, modelDir, { intraOpThreads: load.intraOpThreads }, prompts);
  log(
    `agreement with the CPU: ${agreement.tokens_agreed} of ${agreement.tokens} greedy tokens, worst logprob difference ${agreement.worst_logprob_diff.toExponential(2)}`,
  );
  note({ cpu_agreement: agreement });
}
const warm = (e: Engine) =>
  runContinuous(
    e,
    workload.slice(0, 4).map((r) => ({ ...r, maxTokens: 4 })),
  );
let peakAllocated = 0;
let wasteAtPeak = 0;
// Where the continuous run's time goes: steps that decode only against steps with prompt tokens, each
// as the whole step (engine) and its ONNX Runtime call; the rest of the wall time is between steps.
const stepKinds = { decode: newStepKind(), prefill: newStepKind() };
let counting = false;
const continuousEngine = new Engine(model, config, {
  onStep: (e, s) => {
    const occ = e.kvOccupancy();
    if (occ.allocatedSlots > peakAllocated) {
      peakAllocated = occ.allocatedSlots;
      wasteAtPeak = occ.allocatedSlots - occ.filledSlots;
    }
    if (!counting) return;
    const k = s.tokens === s.seqs ? stepKinds.decode : stepKinds.prefill;
    k.steps++;
    k.ms += s.totalMs;
    k.run_ms += s.runMs;
    k.tokens += s.tokens;
    k.seqs += s.seqs;
  },
});
await warm(continuousEngine);
counting = true;
const continuous = await runContinuous(continuousEngine, workload);
counting = false;
const continuousTps = (1000 * continuous.outputTokens) / continuous.wallMs;
const continuousSteps = {
  wall_ms: r2(continuous.wallMs),
  between_steps_ms: r2(continuous.wallMs - stepKinds.decode.ms - stepKinds.prefill.ms),
  decode: roundKind(stepKinds.decode),
  with_prompt_tokens: roundKind(stepKinds.prefill),
};
log(`continuous: ${continuousTps.toFixed(1)} tok/s; steps ${JSON.stringify(continuousSteps)}`);
note({ continuous_tps: continuousTps, continuous_steps: continuousSteps });
// The peer, right after: the same workload through transformers (its failure is reported, not fatal).
let peer: Record<string, unknown> | null = null;
if (o.peer && !skip.has('peer') && checkpoint !== undefined) {
  const file = join(o.work, 'workload.json');
  writeFileSync(file, JSON.stringify(workload.map((r) => ({ prompt: r.prompt, maxTokens: r.maxTokens }))));
  try {
    const out = execFileSync(
      o.python,
      [
        join(root, 'runtime/bench/py/transformers_peer.py'),
        '--model',
        checkpoint,
        '--workload',
        file,
        '--dtype',
        peerDtype,
        '--max-batch',
        String(maxBatch),
      ],
      { maxBuffer: 64 * 2 ** 20 },
    ).toString();
    peer = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  } catch (e) {
    peer = { error: (e as Error).message.slice(0, 2000) };
  }
  note({ peer });
}
let staticTps: number | null = null;
if (!skip.has('static')) {
  const staticEngine = new Engine(model, config);
  await warm(staticEngine);
  const stat = await runStatic(staticEngine, workload, maxBatch, a.context_length);
  staticTps = (1000 * stat.outputTokens) / stat.wallMs;
  log(`static: ${staticTps.toFixed(1)} tok/s`);
  note({ static_tps: staticTps });
}

const kvTotalBlocks = continuousEngine.stats().kvTotalBlocks;
let used = 0;
let maxConcurrent = 0;
for (const r of workload) {
  used += Math.ceil((r.prompt.length + r.maxTokens) / blockSize);
  if (used > kvTotalBlocks) break;
  maxConcurrent++;
}
const gpuMemoryMb = nvidiaSmiMemoryMb();

// 4. Decode steps against the memory floor: the weights and the batch's cached keys and values read once,
// at the device's bandwidth as CUDA's own copy reaches it (the peer measures it); ONNX Runtime's WebGPU
// element-wise kernels reach far less (webgpu_copy_gb_s), which is not the device's floor.
const cudaCopyGbS = (peer?.['copy_gb_s'] as number | undefined) ?? null;
const floorBytesPerMs = cudaCopyGbS !== null ? cudaCopyGbS * 1e6 : copyBytesPerMs;
const context = Number(o['step-context']);
const kvBytesPerToken = a.n_layer * 2 * a.n_kv_head * a.head_dim * (kvDtype === 'float16' ? 2 : 4);
// A step of greedy rows, as the workload's requests are, brings down each row's token, not its logits
// (graph/greedy-rows.ts); the step that brings the logits down (sampled requests) is timed beside it.
const steps: Record<string, { step_ms: number; logits_step_ms: number; floor_ms: number; vs_floor: number }> =
  {};
for (const batch of skip.has('steps') ? [] : o['step-batches'].split(',').map(Number)) {
  const shape = { blockSize, tileBlocks };
  const reps = Number(o['step-reps']);
  const t = await pagedDecodeStep(model, batch, context, shape, reps, 1, false);
  const withLogits = await pagedDecodeStep(model, batch, context, shape, reps, 1, true);
  const floor = (deviceWeightBytes + batch * (context - 1) * kvBytesPerToken) / floorBytesPerMs;
  steps[batch] = {
    step_ms: r2(t.medianMs),
    logits_step_ms: r2(withLogits.medianMs),
    floor_ms: r2(floor * 1000) / 1000,
    vs_floor: r2(t.medianMs / floor),
  };
  log(
    `decode step at batch ${batch}: ${t.medianMs.toFixed(2)} ms (logits down: ${withLogits.medianMs.toFixed(2)} ms), floor ${floor.toFixed(3)} ms`,
  );
  note({ decode_steps: steps });
}
const contiguous = skip.has('steps')
  ? null
  : await contiguousDecodeStep(model, 32, context, Number(o['step-reps']));
note({ contiguous_step_ms_b32: contiguous?.medianMs });
const paged32 = skip.has('steps')
  ? null
  : (steps[32]?.logits_step_ms ??
    (await pagedDecodeStep(model, 32, context, { blockSize, tileBlocks }, 20, 1, true)).medianMs);

const peerTps = (k: string) => {
  const p = peer?.[k] as { tps?: number } | undefined;
  return p?.tps ?? null;
};
const bestPeer = Math.max(peerTps('generate_batched') ?? 0, peerTps('continuous_batching') ?? 0) || null;

// Last, the long ones: latency at ~70% load, then one request at a time.
const sustainedRps = (1000 * workload.length) / continuous.wallMs;
const timeScale = workload.length / (0.7 * sustainedRps) / ((workload.at(-1)!.arrivalMs || 1) / 1000);
let paced: Awaited<ReturnType<typeof runPaced>> | null = null;
if (!skip.has('paced')) {
  const pacedEngine = new Engine(model, config);
  await warm(pacedEngine);
  paced = await runPaced(pacedEngine, workload, timeScale);
  note({ ttft_ms_p50: percentile(paced.ttftMs, 50), tpot_ms_p50: percentile(paced.tpotMs, 50) });
}
const pctl = (xs: number[] | undefined, p: number) => (xs === undefined ? null : r2(percentile(xs, p)));
let sequentialTps: number | null = null;
const sequentialWork = workload.slice(0, Number(o['sequential-requests'] ?? workload.length));
if (!skip.has('sequential')) {
  const sequentialEngine = new Engine(model, config);
  await warm(sequentialEngine);
  const seq = await runSequential(sequentialEngine, sequentialWork);
  sequentialTps = (1000 * seq.outputTokens) / seq.wallMs;
  log(`sequential (${sequentialWork.length} requests): ${sequentialTps.toFixed(1)} tok/s`);
  note({ sequential_tps: sequentialTps, sequential_requests: sequentialWork.length });
}

const result = {
  machine: describeMachine(),
  model: model.manifest.name,
  // From the weights' bytes: float32 on the device (int4's packed bytes do not say it).
  parameters_m: dtype === 'int4' ? null : r2(weightBytes / storedBytesPerWeight / 1e6),
  weights_dtype: dtype,
  peer_weights_dtype: peerDtype,
  kv_dtype: kvDtype,
  device_attention: model.device?.attention ?? null,
  device_compute: compute,
  requests: workload.length,
  continuous_tps: r2(continuousTps),
  continuous_steps: continuousSteps,
  static_tps: staticTps && r2(staticTps),
  sequential_tps: sequentialTps && r2(sequentialTps),
  sequential_requests: sequentialWork.length,
  skipped: [...skip],
  cpu_agreement: agreement,
  transformers_generate_tps: peerTps('generate_batched') && r2(peerTps('generate_batched')!),
  transformers_continuous_tps: peerTps('continuous_batching') && r2(peerTps('continuous_batching')!),
  warmgate_vs_transformers_tps: bestPeer && r2(continuousTps / bestPeer),
  decode_step_ms: Object.fromEntries(Object.entries(steps).map(([b, s]) => [b, s.step_ms])),
  decode_step_logits_ms: Object.fromEntries(Object.entries(steps).map(([b, s]) => [b, s.logits_step_ms])),
  decode_floor_ms: Object.fromEntries(Object.entries(steps).map(([b, s]) => [b, s.floor_ms])),
  decode_vs_floor: Object.fromEntries(Object.entries(steps).map(([b, s]) => [b, s.vs_floor])),
  step_context: context,
  paged_vs_contiguous_step_ratio: paged32 && contiguous && r2(paged32 / contiguous.medianMs),
  contiguous_step_ms_b32: contiguous && r2(contiguous.medianMs),
  kv_waste_pct: r2(peakAllocated ? (100 * wasteAtPeak) / peakAllocated : 0),
  max_concurrent_paged: maxConcurrent,
  max_concurrent_contiguous: Math.floor((kvTotalBlocks * blockSize) / a.context_length),
  ttft_ms_p50: pctl(paced?.ttftMs, 50),
  ttft_ms_p99: pctl(paced?.ttftMs, 99),
  tpot_ms_p50: pctl(paced?.tpotMs, 50),
  tpot_ms_p99: pctl(paced?.tpotMs, 99),
  gpu_memory_used_mb: gpuMemoryMb,
  cold_start_ms: r2(cold.totalMs),
  cold_start_load_ms: r2(cold.loadMs),
  cold_start_warm_up_ms: r2(cold.warmUpMs),
  cold_start_floor_ms: r2(coldFloorMs),
  cold_start_standby_ms: r2(standby.totalMs),
  device_copy_gb_s: cudaCopyGbS && r2(cudaCopyGbS),
  webgpu_copy_gb_s: r2(copyBytesPerMs / 1e6),
  host_to_device_gb_s: r2(uploadBytesPerMs / 1e6),
  peer,
};
if (o.json) console.log(JSON.stringify(result));
else console.log(result);
await model.release();

function newStepKind() {
  return { steps: 0, ms: 0, run_ms: 0, tokens: 0, seqs: 0 };
}

function roundKind(k: ReturnType<typeof newStepKind>) {
  return { steps: k.steps, ms: r2(k.ms), run_ms: r2(k.run_ms), tokens: k.tokens, seqs: k.seqs };
}

function nvidiaSmiMemoryMb(): number | null {
  try {
    return Number(
      execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'])
        .toString()
        .trim()
        .split('\n')[0],
    );
  } catch {
    return null;
  }
}
