/**
 * npm run bench:runtime [-- --json] [--requests N] [--model DIR] ...
 *
 * Runtime engine on the demo model over a workload shaped like the Azure LLM 2023 conversation trace:
 * throughput of continuous vs static batching vs one at a time, engine overhead, latency at ~70% load,
 * KV waste and capacity, paged vs contiguous step time, resident memory. All in one process, one run.
 * Exit code 1 when the paged step's logits differ from the contiguous step's by more than
 * --logit-bound of a row's largest logit (LOGIT_AGREEMENT_BOUND): its time would then be of a step that computes something else.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine, type EngineConfig } from '../engine/index.ts';
import { KVStore } from '../engine/runner/kv-store.ts';
import { loadModel } from '../model/index.ts';
import { runContinuous, runPaced, runSequential, runStatic, runStaticShrinking } from './drive.ts';
import { LOGIT_AGREEMENT_BOUND, logitDisagreement, measureLayouts } from './paged-vs-contiguous.ts';
import { DATA } from './data-files.ts';
import { loadWorkload, percentile } from './workload.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'runtime/models/demo' },
    trace: { type: 'string', default: DATA.azureLlmConv },
    corpus: { type: 'string', default: DATA.tinyShakespeare },
    requests: { type: 'string', default: '128' },
    'length-scale': { type: 'string', default: '0.25' },
    'block-size': { type: 'string', default: '16' },
    'tile-blocks': { type: 'string', default: '8' },
    'max-batch': { type: 'string', default: '32' },
    'kv-mb': { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    // ONNX Runtime execution providers in preference order, e.g. webgpu,cpu on a GPU host.
    ep: { type: 'string', default: 'cpu' },
    // Where the KV pool lives: host arrays, or device buffers (the default on webgpu, as instances do).
    kv: { type: 'string' },
    'kv-dtype': { type: 'string', default: 'float32' },
    'layout-context': { type: 'string', default: '1024' },
    'layout-reps': { type: 'string', default: '60' },
    'logit-bound': { type: 'string', default: String(LOGIT_AGREEMENT_BOUND) },
  },
});
const log = (...a: unknown[]) => (o.json ? console.error(...a) : console.log(...a));

const executionProviders = o.ep.split(',');
const kvOnDevice = (o.kv ?? (executionProviders[0] === 'webgpu' ? 'device' : 'host')) === 'device';
const kvDtype = o['kv-dtype'] === 'float16' ? 'float16' : 'float32';
const model = await loadModel(o.model, {
  intraOpThreads: Number(o.threads),
  executionProviders,
  ...(kvOnDevice && { deviceKv: kvDtype }),
});
const arch = model.manifest.architecture;
const blockSize = Number(o['block-size']);
const tileBlocks = Number(o['tile-blocks']);
const maxBatch = Number(o['max-batch']);
const config: Partial<EngineConfig> = {
  kvCacheBytes: Number(o['kv-mb']) * 2 ** 20,
  blockSize,
  tileBlocks,
  maxRunningSeqs: maxBatch,
  maxBatchedTokens: 256,
  maxPrefillChunk: 256,
  intraOpThreads: Number(o.threads),
};
const workload = await loadWorkload({
  tracePath: o.trace,
  corpusPath: o.corpus,
  contextLength: arch.context_length,
  lengthScale: Number(o['length-scale']),
  count: Number(o.requests),
  ...(model.manifest.tokenizer.type === 'byte'
    ? {}
    : { encode: (text: string) => model.text.tokenizer.encode(text, { addSpecialTokens: false }) }),
});
const meanPrompt = workload.reduce((a, r) => a + r.prompt.length, 0) / workload.length;
const meanOutput = workload.reduce((a, r) => a + r.maxTokens, 0) / workload.length;
log(
  `workload: ${workload.length} requests, prompt mean ${meanPrompt.toFixed(0)}, output mean ${meanOutput.toFixed(0)} tokens`,
);

const warm = async (e: Engine) => {
  await runContinuous(
    e,
    workload.slice(0, 4).map((r) => ({ ...r, maxTokens: 4 })),
  );
};

// Continuous batching, with resident memory and KV waste sampled at every step.
let peakRss = process.memoryUsage.rss();
let peakAllocated = 0;
let wasteAtPeak = 0;
const sampleRss = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 25);
const continuousEngine = new Engine(model, config, {
  onStep: (e) => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    const occ = e.kvOccupancy();
    if (occ.allocatedSlots > peakAllocated) {
      peakAllocated = occ.allocatedSlots;
      wasteAtPeak = occ.allocatedSlots - occ.filledSlots;
    }
  },
});
await warm(continuousEngine);
const before = continuousEngine.stats();
const continuous = await runContinuous(continuousEngine, workload);
const after = continuousEngine.stats();
clearInterval(sampleRss);
const engineOverheadPct =
  (100 * (after.stepMsTotal - before.stepMsTotal - (after.runMsTotal - before.runMsTotal))) /
  (after.runMsTotal - before.runMsTotal);
const continuousTps = (1000 * continuous.outputTokens) / continuous.wallMs;
log(`continuous: ${continuousTps.toFixed(1)} tok/s, engine overhead ${engineOverheadPct.toFixed(1)}%`);
const modelBytes =
  statSync(join(model.dir, model.manifest.files.weights.path)).size +
  statSync(join(model.dir, model.manifest.files.engine.path)).size;
const rssOverheadMb = (peakRss - modelBytes - continuousEngine.stats().kvBytes) / 2 ** 20;

// Static batching reserves every member's whole context up front (no preemption): give it that much.
const staticEngine = new Engine(model, {
  ...config,
  kvCacheBytes: Math.max(
    config.kvCacheBytes!,
    maxBatch * arch.context_length * KVStore.bytesPerBlock(arch, 1),
  ),
});
await warm(staticEngine);
const stat = await runStatic(staticEngine, workload, maxBatch, arch.context_length);
const staticTps = (1000 * stat.outputTokens) / stat.wallMs;
log(`static (padded): ${staticTps.toFixed(1)} tok/s`);
const shrinkingEngine = new Engine(model, config);
await warm(shrinkingEngine);
const shrink = await runStaticShrinking(shrinkingEngine, workload, maxBatch);
const staticShrinkingTps = (1000 * shrink.outputTokens) / shrink.wallMs;
log(`static (finished members leave): ${staticShrinkingTps.toFixed(1)} tok/s`);

const sequentialEngine = new Engine(model, config);
await warm(sequentialEngine);
const seq = await runSequential(sequentialEngine, workload);
const sequentialTps = (1000 * seq.outputTokens) / seq.wallMs;
log(`sequential: ${sequentialTps.toFixed(1)} tok/s`);

// Latency at ~70% load: the trace's arrival pattern, time-scaled so the offered rate is 70% of what
// continuous batching sustained above.
const sustainedRps = (1000 * workload.length) / continuous.wallMs;
const traceSpanMs = workload.at(-1)!.arrivalMs || 1;
const targetRps = 0.7 * sustainedRps;
const timeScale = workload.length / targetRps / (traceSpanMs / 1000);
const pacedEngine = new Engine(model, config);
await warm(pacedEngine);
const pacedBefore = pacedEngine.stats();
const paced = await runPaced(pacedEngine, workload, timeScale);
const busyPct = (100 * (pacedEngine.stats().stepMsTotal - pacedBefore.stepMsTotal)) / paced.wallMs;
log(
  `paced at ${targetRps.toFixed(2)} req/s: busy ${busyPct.toFixed(0)}%, TTFT p50 ${percentile(paced.ttftMs, 50).toFixed(1)} ms`,
);

// Capacity in one KV budget: paged holds what each sequence uses (rounded up to a block), contiguous
// preallocates the whole context per sequence.
const numBlocks = continuousEngine.stats().kvTotalBlocks;
let used = 0;
let maxConcurrentPaged = 0;
for (const r of workload) {
  used += Math.ceil((r.prompt.length + r.maxTokens) / blockSize);
  if (used > numBlocks) break;
  maxConcurrentPaged++;
}
const maxConcurrentContiguous = Math.floor((numBlocks * blockSize) / arch.context_length);

// The layouts' step comparison runs engine.onnx over host pools; bench:gpu measures the device's steps.
const layout = kvOnDevice
  ? null
  : await measureLayouts(
      model,
      32,
      Number(o['layout-context']),
      { blockSize, tileBlocks },
      Number(o['layout-reps']),
      Number(o.threads),
      executionProviders,
    );
if (layout)
  log(
    `layout: contiguous ${layout.contiguousMs.toFixed(2)} ms, paged ${layout.pagedMs.toFixed(2)} ms, paged via gather ${layout.pagedGatherMs.toFixed(2)} ms (max logit diff ${layout.maxLogitDiff.toExponential(2)}, ${layout.logitRelError.toExponential(2)} of the row's largest)`,
  );

const logitBound = Number(o['logit-bound']);
const disagreement = layout && logitDisagreement(layout.logitRelError, logitBound);

const r2 = (x: number) => Math.round(x * 100) / 100;
const result = {
  model: model.manifest.name,
  requests: workload.length,
  prompt_tokens_mean: r2(meanPrompt),
  output_tokens_mean: r2(meanOutput),
  continuous_tps: r2(continuousTps),
  static_tps: r2(staticTps),
  static_shrinking_tps: r2(staticShrinkingTps),
  sequential_tps: r2(sequentialTps),
  continuous_vs_sequential: r2(continuousTps / sequentialTps),
  continuous_vs_static: r2(continuousTps / staticTps),
  continuous_vs_static_shrinking: r2(continuousTps / staticShrinkingTps),
  engine_overhead_pct: r2(engineOverheadPct),
  paged_vs_contiguous_step_ratio: layout && r2(layout.pagedMs / layout.contiguousMs),
  paged_gather_vs_contiguous_step_ratio: layout && r2(layout.pagedGatherMs / layout.contiguousMs),
  contiguous_step_ms: layout && r2(layout.contiguousMs),
  paged_step_ms: layout && r2(layout.pagedMs),
  paged_run_ms: layout && r2(layout.pagedRunMs),
  paged_run_vs_contiguous_ratio: layout && r2(layout.pagedRunMs / layout.contiguousMs),
  paged_vs_contiguous_max_logit_diff: layout && layout.maxLogitDiff,
  paged_vs_contiguous_logit_rel_error: layout && layout.logitRelError,
  paged_vs_contiguous_logit_rel_bound: logitBound,
  kv_waste_pct: r2(peakAllocated ? (100 * wasteAtPeak) / peakAllocated : 0),
  max_concurrent_paged: maxConcurrentPaged,
  max_concurrent_contiguous: maxConcurrentContiguous,
  ttft_ms_p50: r2(percentile(paced.ttftMs, 50)),
  ttft_ms_p99: r2(percentile(paced.ttftMs, 99)),
  tpot_ms_p50: r2(percentile(paced.tpotMs, 50)),
  tpot_ms_p99: r2(percentile(paced.tpotMs, 99)),
  paced_rps: r2(targetRps),
  paced_busy_pct: r2(busyPct),
  rss_overhead_mb: r2(rssOverheadMb),
  peak_rss_mb: r2(peakRss / 2 ** 20),
  block_size: blockSize,
  tile_blocks: tileBlocks,
  max_batch: maxBatch,
  kv_cache_mb: Number(o['kv-mb']),
  threads: Number(o.threads),
  execution_providers: o.ep,
  kv_pool: kvOnDevice ? `device ${kvDtype}` : 'host float32',
};
if (o.json) console.log(JSON.stringify(result));
else console.table(result);
await model.release();
// The figures are printed either way; a step that computes something else fails the run.
if (disagreement !== null) {
  console.error(`bench:runtime: ${disagreement}`);
  process.exitCode = 1;
}
