/**
 * npm run bench:lora [-- --json] [--requests 256] [--slots 65] [--rank 16] [--rounds 3] [--ep webgpu,cpu] [--kv device]
 *   [--model DIR] [--targets q_proj,k_proj,v_proj,o_proj] [--partial FILE]
 *
 * `--ep webgpu` runs it on the GPU with the KV pool and the adapter slot stacks on the device (`--kv`
 * host|device picks the pool's place, device by default on webgpu; `--kv device` on the CPU runs the
 * device contract there, as CI's tests do). `--partial FILE` rewrites the figures so far after each
 * configuration, so a run cut off by a time limit keeps its finished rounds (`rounds_run`).
 *
 * The base model's figure is the demo model loaded without adapter slots, as an instance serving no
 * adapters runs it; its requests on the instance with slots (0 adapters) are reported beside it.
 *
 * Many LoRA adapters on one warm base model (the demo model, CPU): output tokens/s of the conversation
 * workload of bench:runtime with 0 (the base model alone), 1, 8, 64 and 512 distinct adapters spread over
 * its requests, continuous batching; how long an adapter takes to load (files read and checked) and to
 * enter a slot; and the first token of a request to an adapter not loaded yet against one loaded.
 * Adapters are seeded random PEFT folders of the demo's shape (runtime/adapters/random-peft-adapter.ts),
 * rank 16 on the attention projections (the demo's MLP is not gated, so q, k, v and o are its targets).
 * `--model` and `--targets` run it on another model (bench:gpu's 0.5 B import, with gate, up and down too).
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeRandomPeftAdapter } from '../adapters/index.ts';
import { DEFAULT_SAMPLING_PARAMS, Engine, type EngineConfig } from '../engine/index.ts';
import { resolveArchitecture } from '../model/architecture.ts';
import type { LoraTarget } from '../model/graph/index.ts';
import { type KvDtype, type LoadOptions, loadModel } from '../model/index.ts';
import { DATA } from './data-files.ts';
import { runContinuous } from './drive.ts';
import { describeMachine } from './machine.ts';
import { loadWorkload, percentile, type WorkloadRequest } from './workload.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'runtime/models/demo' },
    requests: { type: 'string', default: '256' },
    'length-scale': { type: 'string', default: '0.25' },
    adapters: { type: 'string', default: '0,1,8,64,512' },
    // 64 adapters fit in one batch with 65 slots (slot 0 is the base model); 512 take turns in them.
    slots: { type: 'string', default: '65' },
    rank: { type: 'string', default: '16' },
    targets: { type: 'string', default: 'q_proj,k_proj,v_proj,o_proj' },
    threads: { type: 'string', default: '2' },
    'max-batch': { type: 'string', default: '64' },
    // Each configuration runs once a round; figures are medians over rounds.
    rounds: { type: 'string', default: '3' },
    // ONNX Runtime execution providers in preference order, e.g. webgpu,cpu on a GPU host.
    ep: { type: 'string', default: 'cpu' },
    kv: { type: 'string' },
    'kv-dtype': { type: 'string', default: 'float32' },
    // The figures so far, rewritten after each configuration (a run cut short keeps its finished rounds).
    partial: { type: 'string' },
  },
});
const log = (...a: unknown[]) => (o.json ? console.error(...a) : console.log(...a));
const r2 = (x: number) => Math.round(x * 100) / 100;
const TARGETS = o.targets.split(',') as LoraTarget[];
const rank = Number(o.rank);
const counts = o.adapters.split(',').map(Number);
const most = Math.max(...counts);
const executionProviders = o.ep.split(',');
const kv = o.kv ?? (executionProviders[0] === 'webgpu' ? 'device' : 'host');
if (kv !== 'host' && kv !== 'device') throw new Error(`--kv must be host or device, got ${kv}`);
const kvDtype: KvDtype = o['kv-dtype'] === 'float16' ? 'float16' : 'float32';
// The same provider and KV pool for the base model and the instance with slots.
const placement: LoadOptions = {
  intraOpThreads: Number(o.threads),
  executionProviders,
  ...(kv === 'device' && { deviceKv: kvDtype }),
};

const model = await loadModel(o.model, {
  ...placement,
  adapters: { slots: Number(o.slots), maxRank: rank, targets: TARGETS },
});
const arch = resolveArchitecture(model.manifest.architecture);
const dir = await mkdtemp(join(tmpdir(), 'wg-bench-lora-'));
const pathOf = (i: number) => join(dir, `a${i}`);
for (let i = 0; i < most + 2; i++)
  await writeRandomPeftAdapter(pathOf(i), arch, { rank, targets: TARGETS, seed: i + 1 });

const config: Partial<EngineConfig> = { kvCacheBytes: 256 * 2 ** 20, maxRunningSeqs: Number(o['max-batch']) };
const workload = await loadWorkload({
  tracePath: DATA.azureLlmConv,
  corpusPath: DATA.tinyShakespeare,
  contextLength: model.manifest.architecture.context_length,
  lengthScale: Number(o['length-scale']),
  count: Number(o.requests),
  encode: (text: string) => model.text.tokenizer.encode(text, { addSpecialTokens: false }),
});

// The base model alone, as an instance without adapter slots runs it: the baseline the targets compare to.
const plain = await loadModel(o.model, placement);
const warm = (r: readonly WorkloadRequest[]) => r.slice(0, 4).map((q) => ({ ...q, maxTokens: 2 }));

/**
 * Where a run's model time went: steps of decodes only, and steps with prompt tokens (prefill chunks,
 * mostly beside decodes; `tokens`: all they computed), each as steps and ms inside ONNX Runtime's run.
 */
interface StepKinds {
  decode: { steps: number; run_ms: number };
  prompt: { steps: number; run_ms: number; tokens: number };
}

/** Output tokens/s of the workload on a fresh engine: the base model alone (k null) or k adapters. */
async function throughput(k: number | null): Promise<{ tps: number; steps: StepKinds }> {
  const steps: StepKinds = { decode: { steps: 0, run_ms: 0 }, prompt: { steps: 0, run_ms: 0, tokens: 0 } };
  let counting = false;
  const engine = new Engine(k === null ? plain : model, config, {
    onStep: (_, s) => {
      if (!counting) return;
      // A step of decodes computes one token per sequence; any more are prompt tokens.
      const kind = s.tokens === s.seqs ? steps.decode : steps.prompt;
      kind.steps++;
      kind.run_ms += s.runMs;
      if (kind === steps.prompt) steps.prompt.tokens += s.tokens;
    },
  });
  for (let i = 0; i < (k ?? 0); i++) await engine.loadAdapter(`a${i}`, pathOf(i));
  // Request i runs under adapter i mod k (k = 0: the base model's requests on the instance with slots).
  const reqs = workload.map((r, i) => (!k ? r : { ...r, adapter: `a${i % k}` }));
  await runContinuous(engine, warm(reqs));
  counting = true;
  const run = await runContinuous(engine, reqs);
  await engine.idle();
  steps.decode.run_ms = r2(steps.decode.run_ms);
  steps.prompt.run_ms = r2(steps.prompt.run_ms);
  return { tps: (1000 * run.outputTokens) / run.wallMs, steps };
}

// Rounds of every configuration, the base model first in each: a figure is the median over rounds, a
// ratio the median of each round's ratio to that round's base, so drift on a shared machine cancels.
const rounds = Number(o.rounds);
const base: number[] = [];
const tpsOf = new Map<number, number[]>(counts.map((k) => [k, []]));
// Each configuration's split of model time by step kind, from the last round.
const stepsOf = new Map<number | null, StepKinds>();
const ratioOf = new Map<number, number[]>(counts.map((k) => [k, []]));
/** The throughput figures over the rounds run so far (null where a configuration has not run yet). */
const median = (xs: number[]) => (xs.length === 0 ? null : percentile(xs, 50));
const throughputFigures = () => {
  const tps = (k: number) => median(tpsOf.get(k)!);
  const vs = (k: number) => median(ratioOf.get(k)!);
  const at = (x: number | null, digits: number) =>
    x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    tps_base: at(median(base), 2),
    rounds,
    rounds_run: base.length,
    tps_base_with_slots: counts.includes(0) ? at(tps(0), 2) : null,
    ...Object.fromEntries(counts.filter((k) => k > 0).map((k) => [`tps_${k}_adapters`, at(tps(k), 2)])),
    ...Object.fromEntries(counts.filter((k) => k > 0).map((k) => [`vs_base_${k}_adapters`, at(vs(k), 3)])),
  };
};
const header = {
  machine: describeMachine(),
  model: model.manifest.name,
  execution_providers: executionProviders,
  kv: kv === 'device' ? `device ${kvDtype}` : 'host',
  rank,
  targets: TARGETS,
  slots: Number(o.slots),
  requests: workload.length,
};
const notePartial = () => {
  if (o.partial) writeFileSync(o.partial, JSON.stringify({ ...header, ...throughputFigures() }) + '\n');
};
for (let r = 0; r < rounds; r++) {
  const { tps: b, steps: baseSteps } = await throughput(null);
  base.push(b);
  stepsOf.set(null, baseSteps);
  log(`round ${r + 1}: base model, no adapter slots: ${b.toFixed(1)} tok/s`);
  for (const k of counts) {
    const { tps: t, steps } = await throughput(k);
    stepsOf.set(k, steps);
    tpsOf.get(k)!.push(t);
    ratioOf.get(k)!.push(t / b);
    log(`round ${r + 1}: ${k} adapters: ${t.toFixed(1)} tok/s (${(t / b).toFixed(3)} of the base model's)`);
    notePartial();
  }
}
await plain.release();

// Loading: files read and checked (loadAdapter), then the first admission writes the slot.
const engine = new Engine(model, config);
const loadMs: number[] = [];
const one = (adapter: string) => {
  const t0 = performance.now();
  const r = engine.submit({
    prompt: workload[0]!.prompt.slice(0, 64),
    params: { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, maxTokens: 2, ignoreEos: true },
    adapter,
  });
  if (!r.ok) throw new Error(r.error.message);
  return (async () => {
    let first = 0;
    for await (const ev of r.events) if (ev.type === 'token' && first === 0) first = performance.now() - t0;
    return first;
  })();
};
const coldTtft: number[] = [];
const warmTtft: number[] = [];
for (let i = 0; i < 20; i++) {
  const id = `load${i}`;
  const t0 = performance.now();
  await engine.loadAdapter(id, pathOf(i % (most + 2)));
  const loaded = performance.now() - t0;
  loadMs.push(loaded);
  // Cold: the load above plus a first request that writes the slot; warm: the same adapter again.
  coldTtft.push(loaded + (await one(id)));
  warmTtft.push(await one(id));
  engine.unloadAdapter(id);
}
await engine.idle();
const stats = engine.adapterStats();
await rm(dir, { recursive: true, force: true });
await model.release();

const result = {
  ...header,
  // Where the slot stacks lived: held on the device, or host arrays fed every step.
  adapter_stacks: stats?.stacks,
  ...(stats?.stacksFallback !== undefined && { adapter_stacks_fallback: stats.stacksFallback }),
  ...throughputFigures(),
  // The last round's split of model time by step kind, per configuration (base: the model without slots).
  step_kinds: Object.fromEntries([...stepsOf].map(([k, v]) => [k === null ? 'base' : `${k}_adapters`, v])),
  adapter_load_ms: r2(percentile(loadMs, 50)),
  adapter_load_ms_p90: r2(percentile(loadMs, 90)),
  ttft_cold_adapter_ms: r2(percentile(coldTtft, 50)),
  ttft_warm_adapter_ms: r2(percentile(warmTtft, 50)),
  slot_loads: stats?.loads,
  slot_evictions: stats?.evictions,
};
if (o.partial) writeFileSync(o.partial, JSON.stringify(result) + '\n');
console.log(o.json ? JSON.stringify(result) : result);
