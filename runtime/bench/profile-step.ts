/**
 * npm run profile:step [-- --json] [--model DIR] [--batch 8] [--context 128] [--validation basic,wgpuOnly]
 *
 * Where a decode step's time goes on ONNX Runtime's WebGPU provider (GPU hosts only):
 * - the dispatch floor: a chain of N element-wise nodes on the device, so the cost of one kernel
 *   dispatch, whatever it computes, is the slope over N;
 * - the engine's decode step (device KV pool) at each Dawn validation mode, with the process's CPU time;
 * - the same step with the pool 1, 4, 16 times the blocks the batch uses (each step returns every pool,
 *   written: what that costs as the pool grows);
 * - the step session's run alone, its small inputs fed from the host (as the runner does) against
 *   uploaded before the timed runs: what sending them up costs;
 * - ONNX Runtime's own profile of that step: nodes run per step, their summed kernel time by op type and
 *   provider, against the run's wall time; and the profile's other events by category and name (the
 *   executor's own span, so the run's time outside it: feeds and fetches; a provider's own events).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { loadModel } from '../model/index.ts';
import { DataType, encodeModel, Graph } from '../model/onnx/index.ts';
import { pagedDecodeStep, stepInputsSplit } from './gpu-steps.ts';
import { describeMachine } from './machine.ts';
import { percentile } from './workload.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'runtime/models/demo' },
    // cpu gives the same figures for the CPU provider (validation modes do not apply there).
    ep: { type: 'string', default: 'webgpu' },
    batch: { type: 'string', default: '8' },
    context: { type: 'string', default: '128' },
    reps: { type: 'string', default: '20' },
    validation: { type: 'string', default: 'basic,wgpuOnly,disabled' },
    chains: { type: 'string', default: '1,64,256,1024' },
    // Session config entries for every session here, k=v,k=v (e.g.
    // ep.webgpuexecutionprovider.maxNumPendingDispatches=64): what the provider does between dispatches.
    'session-config': { type: 'string', default: '' },
    // The step again with the pool this many times the blocks the batch uses: each step returns every
    // pool written (ScatterND's output), so a step's cost may grow with the pool, not the batch.
    'pool-factors': { type: 'string', default: '1,4,16' },
  },
});
const log = (...a: unknown[]) => (o.json ? console.error(...a) : console.log(...a));
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const reps = Number(o.reps);
const ep = o.ep;
const validations = ep === 'webgpu' ? o.validation.split(',') : ['n/a'];
const provider = (validationMode: string): ort.InferenceSession.ExecutionProviderConfig =>
  ep === 'webgpu' ? ({ name: 'webgpu', validationMode } as ort.InferenceSession.ExecutionProviderConfig) : ep;
const sessionConfig: Record<string, string> = Object.fromEntries(
  o['session-config']
    .split(',')
    .filter((kv) => kv !== '')
    .map((kv) => {
      const at = kv.indexOf('=');
      if (at <= 0) throw new Error(`--session-config takes key=value pairs, got ${kv}`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
);
const loadOptions = (validationMode: string) => ({
  sessionConfig,
  executionProviders: [ep, 'cpu'],
  ...(ep === 'webgpu' && { providerOptions: { webgpu: { validationMode } } }),
  deviceKv: 'float32' as const,
});

/** x + 1 + 1 ... (n Adds) on the device; the last element comes back to the host, so each run is whole. */
function chainGraph(n: number): Uint8Array {
  const g = new Graph(`chain_${n}`);
  let x = g.input('x', DataType.FLOAT, [1024]);
  const one = g.const(1, 'float32');
  for (let i = 0; i < n; i++) {
    const y = `y${i}`;
    g.node('Add', [x, one], [y]);
    x = y;
  }
  g.node('Slice', [x, g.const([1023]), g.const([1024])], ['last']);
  g.output('last', DataType.FLOAT, [1]);
  return encodeModel(g.model({}));
}

async function chainMs(n: number, validationMode: string): Promise<number> {
  const s = await ort.InferenceSession.create(chainGraph(n), {
    executionProviders: [provider(validationMode)],
    graphOptimizationLevel: 'disabled', // keep every node a dispatch
    logSeverityLevel: 3,
    extra: sessionConfig,
  });
  const x = new ort.Tensor('float32', new Float32Array(1024), [1024]);
  const times: number[] = [];
  for (let i = 0; i < reps + 3; i++) {
    const t = performance.now();
    const out = await s.run({ x });
    if (i >= 3) times.push(performance.now() - t);
    if (out.last!.data[0] !== n) throw new Error(`chain of ${n} gave ${String(out.last!.data[0])}`);
  }
  await s.release();
  return percentile(times, 50);
}

/** The dispatch floor per validation mode: run time per chain length, and the slope (µs per node). */
const dispatch: Record<string, { run_ms: Record<string, number>; us_per_node: number }> = {};
const chains = o.chains.split(',').map(Number);
for (const v of validations) {
  const runMs: Record<string, number> = {};
  for (const n of chains) runMs[n] = r3(await chainMs(n, v));
  const [lo, hi] = [chains[0]!, chains.at(-1)!];
  const usPerNode = r3((1000 * (runMs[hi]! - runMs[lo]!)) / (hi - lo));
  dispatch[v] = { run_ms: runMs, us_per_node: usPerNode };
  log(`dispatch (${v}): ${JSON.stringify(runMs)} ms per run; ${usPerNode} µs per node`);
}

/** The decode step per validation mode, then profiled once (at the first mode). */
const batch = Number(o.batch);
const context = Number(o.context);
const shape = { blockSize: 16, tileBlocks: 8 };
const steps: Record<string, number> = {};
// Host CPU time per step against its wall time: near 1 (or above, with several threads busy) means the
// host's dispatch bounds the step; well below 1 means the host waits on the device.
const stepCpu: Record<string, number> = {};
for (const v of validations) {
  const model = await loadModel(o.model, loadOptions(v));
  const timing = await pagedDecodeStep(model, batch, context, shape, reps);
  steps[v] = r3(timing.medianMs);
  stepCpu[v] = r3(timing.cpuMs);
  log(`decode step at batch ${batch}, context ${context} (${v}): ${steps[v]} ms, host CPU ${stepCpu[v]} ms`);
  await model.release();
}

// The step at the first validation mode, with pools of several sizes.
const byPool: Record<string, number> = {};
{
  const model = await loadModel(o.model, loadOptions(validations[0]!));
  for (const f of o['pool-factors'].split(',').map(Number)) {
    byPool[f] = r3((await pagedDecodeStep(model, batch, context, shape, reps, f)).medianMs);
    log(`decode step with the pool ${f}x the batch's blocks: ${byPool[f]} ms`);
  }
  await model.release();
}

// The step's run alone, its small inputs from the host (as the runner feeds them) against already on the device.
const split = await (async () => {
  if (ep !== 'webgpu') return null; // no device buffers on the CPU provider
  const model = await loadModel(o.model, loadOptions(validations[0]!));
  const r = await stepInputsSplit(model, batch, context, shape, reps);
  await model.release();
  return {
    inputs: r.inputs,
    host_inputs_ms: r3(r.hostInputsMs),
    device_inputs_ms: r3(r.deviceInputsMs),
  };
})();
if (split)
  log(
    `step run alone: ${split.host_inputs_ms} ms with its ${split.inputs} inputs from the host, ${split.device_inputs_ms} ms with them on the device`,
  );

const dir = mkdtempSync(join(tmpdir(), 'wg-profile-'));
const profiled = await loadModel(o.model, {
  ...loadOptions(validations[0]!),
  profileFilePrefix: join(dir, 'step'),
});
await pagedDecodeStep(profiled, batch, context, shape, reps);
profiled.device!.step.endProfiling();
await profiled.release();
const profile = summarize(dir);
log(
  `profile: ${profile.runs} runs, ${profile.nodes_per_run} nodes per run, run ${profile.run_ms} ms, ` +
    `kernels ${profile.kernel_ms_per_run} ms per run (${profile.kernel_share_pct}%)`,
);
for (const [k, v] of Object.entries(profile.by_op).slice(0, 12)) log(`  ${k}: ${JSON.stringify(v)}`);
for (const [k, v] of Object.entries(profile.other_events).slice(0, 8))
  log(`  other ${k}: ${JSON.stringify(v)}`);

const result = {
  machine: describeMachine(),
  model: o.model,
  ep,
  session_config: sessionConfig,
  batch,
  context,
  dispatch,
  decode_step_ms: steps,
  decode_step_cpu_ms: stepCpu,
  decode_step_ms_by_pool_factor: byPool,
  step_run_inputs: split,
  profile,
};
console.log(o.json ? JSON.stringify(result) : result);

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; provider?: string };
}

/** The step session's profile (the warm-up runs included): per run, nodes and kernel time, by op type and provider (sorted by time). */
function summarize(folder: string) {
  // Every session of the model writes a profile (the pool's init and copy graphs too): the step's has
  // the most kernel events.
  const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
  if (files.length === 0) throw new Error(`no profile written in ${folder}`);
  const kernelsOf = (evs: ProfileEvent[]) =>
    evs.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const events = files
    .map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as ProfileEvent[])
    .sort((a, b) => kernelsOf(b).length - kernelsOf(a).length)[0]!;
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const kernels = kernelsOf(events);
  const byOp = new Map<string, { nodes: number; us: number }>();
  for (const k of kernels) {
    const key = `${k.args?.op_name ?? '?'}@${k.args?.provider ?? '?'}`;
    const agg = byOp.get(key) ?? { nodes: 0, us: 0 };
    agg.nodes += 1;
    agg.us += k.dur;
    byOp.set(key, agg);
  }
  const n = Math.max(1, runs.length);
  // Whatever else the run recorded (a provider's own events, such as GPU timestamps where it takes
  // them): by category and name, so time spent outside the nodes' host-side kernel calls shows up.
  const others = new Map<string, { events: number; us: number }>();
  for (const e of events) {
    if (e.cat === 'Node' || (e.cat === 'Session' && e.name === 'model_run')) continue;
    const key = `${e.cat}:${e.name.replace(/_\d+$/, '')}`;
    const agg = others.get(key) ?? { events: 0, us: 0 };
    agg.events += 1;
    agg.us += e.dur ?? 0;
    others.set(key, agg);
  }
  const runUs = runs.reduce((a, e) => a + e.dur, 0) / n;
  const kernelUs = kernels.reduce((a, e) => a + e.dur, 0) / n;
  return {
    runs: runs.length,
    nodes_per_run: r3(kernels.length / n),
    run_ms: r3(runUs / 1000),
    kernel_ms_per_run: r3(kernelUs / 1000),
    kernel_share_pct: r3((100 * kernelUs) / Math.max(1, runUs)),
    by_op: Object.fromEntries(
      [...byOp.entries()]
        .sort((a, b) => b[1].us - a[1].us)
        .map(([k, v]) => [k, { nodes_per_run: r3(v.nodes / n), ms_per_run: r3(v.us / n / 1000) }]),
    ),
    other_events: Object.fromEntries(
      [...others.entries()]
        .sort((a, b) => b[1].us - a[1].us)
        .slice(0, 20)
        .map(([k, v]) => [k, { events_per_run: r3(v.events / n), ms_per_run: r3(v.us / n / 1000) }]),
    ),
  };
}
