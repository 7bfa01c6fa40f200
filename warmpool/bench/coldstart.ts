/**
 * npm run bench:coldstart [-- --json] [--reps N] [--drop-caches]
 *
 * Cold start of the demo model through the local provider, each way a start can go against the physical
 * floor of that way on this machine (a standby never starts a process, so its floor has no node start),
 * and what a cold or ready-idle instance adds to time to first token through the whole platform.
 * Run from the build (dist/), as instances are in production.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from '../../runtime/bench/machine.ts';
import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { DEFAULT_SAMPLING_PARAMS, Engine } from '../../runtime/engine/index.ts';
import { graphCachePath, openCached } from '../../runtime/model/graph-cache.ts';
import { loadModel, sessionOptions } from '../../runtime/model/index.ts';
import { startWarmgate } from '../platform.ts';
import { LocalProvider } from '../providers/index.ts';
import {
  floorsOf,
  type FloorParts,
  median,
  medianPhases,
  type ObservedStart,
  type Phases,
  round2,
  splitPhases,
} from './summary.ts';
import { streamCompletion } from './ttft.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'runtime/models/demo' },
    reps: { type: 'string', default: '5' },
    'ttft-reps': { type: 'string', default: '10' },
    'cold-reps': { type: 'string', default: '3' },
    'poll-ms': { type: 'string', default: '5' },
    'tick-ms': { type: 'string', default: '50' },
    'drop-caches': { type: 'boolean', default: false },
  },
});
const log = (...a: unknown[]) => (o.json ? console.error(...a) : console.log(...a));
const reps = Number(o.reps);
const pollMs = Number(o['poll-ms']);
const tickMs = Number(o['tick-ms']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const times = async (n: number, f: () => Promise<number>) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
};

// Floor, part 1: a bare process start, spawn to exit.
const bareStart = () =>
  new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve(performance.now() - t0));
  });
await bareStart();
const processStartMs = median(await times(10, bareStart));
log(`bare process start: ${processStartMs.toFixed(1)} ms`);

// Floor, part 2: the bytes the engine loads (graph + weights), read again right after a first read.
const manifest = JSON.parse(readFileSync(join(o.model, 'model.json'), 'utf8')) as {
  files: { engine: { path: string; sha256: string }; weights: { path: string; sha256: string } };
};
const modelFiles = [manifest.files.engine.path, manifest.files.weights.path].map((p) => join(o.model, p));
const readAll = () => {
  const t0 = performance.now();
  let bytes = 0;
  for (const f of modelFiles) bytes += readFileSync(f).length;
  return { ms: performance.now() - t0, bytes };
};
const modelBytes = readAll().bytes;
const readModelMs = median(await times(5, async () => readAll().ms));
log(`model bytes ${modelBytes}, page-cache read ${readModelMs.toFixed(2)} ms`);

// Floor, part 3: ONNX Runtime opening the graph with the least work any start can do: from the optimized
// copy in the graph cache (no optimizer), in a process where ONNX Runtime is already set up. It reads the
// external weights itself, from the page cache, so the floor counts that read twice (by at most part 2):
// a floor a little high, ratios a little low.
const floorGraphDir = mkdtempSync(join(tmpdir(), 'wg-bench-floor-graphs-'));
await (await loadModel(o.model, { graphCacheDir: floorGraphDir })).release(); // sets up ORT, fills the cache
const cachedGraph = graphCachePath(floorGraphDir, {
  graphSha256: manifest.files.engine.sha256,
  weightsSha256: manifest.files.weights.sha256,
  executionProviders: ['cpu'],
});
const sessionCreate = async () => {
  const t0 = performance.now();
  const session = await openCached(
    join(o.model, manifest.files.engine.path),
    cachedGraph,
    sessionOptions({}),
  );
  const ms = performance.now() - t0;
  await session.release();
  return ms;
};
await sessionCreate();
const sessionCreateMs = median(await times(5, sessionCreate));
rmSync(floorGraphDir, { recursive: true, force: true });
log(`session from the cached graph: ${sessionCreateMs.toFixed(2)} ms`);

// Not in the floor (the runtime's choice to run a warm-up step before ready, not physics): the first
// decode step on a freshly loaded model (a 1-token generation), in-process.
const firstStep = async () => {
  const model = await loadModel(o.model);
  try {
    const engine = new Engine(model, { kvCacheBytes: 64 * 2 ** 20 });
    const t0 = performance.now();
    const r = engine.submit({
      prompt: [32],
      params: { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, maxTokens: 1 },
    });
    if (!r.ok) throw new Error(r.error.message);
    for await (const ev of r.events) if (ev.type === 'error') throw new Error(ev.message);
    return performance.now() - t0;
  } finally {
    await model.release();
  }
};
const warmupStepMs = median(await times(3, firstStep));
log(`first decode step after load: ${warmupStepMs.toFixed(2)} ms`);

const floorParts: FloorParts = {
  process_start_ms: processStartMs,
  read_model_ms: readModelMs,
  session_create_ms: sessionCreateMs,
};
const floors = floorsOf(floorParts);

// Cold starts through the provider, polled every pollMs. Three ways a start can go on this host:
// - standby: a primed standby process takes the model, whose optimized graph an earlier start of it
//   left in the host's graph cache: what every scale-up of a deployment gets (the headline figure);
// - fresh process: no standby free (e.g. a burst took them all), graph cache warm;
// - first on host: no standby and an empty graph cache (the model's first start on a new host).
const demo = (minInstances: number): DeploymentSpec => ({
  name: 'demo',
  kind: 'generative',
  model: { path: o.model },
  // Keep-alive policy: once up, an instance stays (this measures cold vs warm, not a policy's choices).
  scaling: {
    minInstances,
    maxInstances: 1,
    warmBuffer: 0,
    keepAliveMs: 600_000,
    ttftSloMs: 60_000,
    policy: 'keepalive',
  },
});
const graphDir = mkdtempSync(join(tmpdir(), 'wg-bench-graphs-'));
const observeStarts = async (mode: 'standby' | 'fresh' | 'first', n: number): Promise<ObservedStart[]> => {
  const out: ObservedStart[] = [];
  for (let i = 0; i < n; i++) {
    const provider = new LocalProvider({
      pollIntervalMs: pollMs,
      standby: mode === 'standby' ? 1 : 0,
      graphCacheDir: mode === 'first' ? mkdtempSync(join(tmpdir(), 'wg-bench-graphs-')) : graphDir,
    });
    try {
      if (mode === 'standby') await provider.standbyPrimed();
      await sleep(200); // the standby (or nothing) idle, as on a host between starts
      const id = `bench-${mode}-${i}`;
      await provider.start({ deployment: demo(1), instanceId: id });
      let t = provider.timings(id);
      while (t?.readyAt === undefined) {
        if (provider.exitOf(id)) throw new Error(`instance exited: ${provider.exitOf(id)!.stderrTail}`);
        await sleep(pollMs);
        t = provider.timings(id);
      }
      const { spawnedAt, liveAt, warmingAt, readyAt } = t;
      out.push({ spawnedAt, liveAt: liveAt ?? readyAt, warmingAt: warmingAt ?? readyAt, readyAt });
    } finally {
      await provider.close();
    }
  }
  return out;
};
const firstStarts = await observeStarts('first', Math.min(reps, 3)); // also fills graphDir's cache
const freshStarts = await observeStarts('fresh', reps);
const standbyStarts = await observeStarts('standby', reps);
const startMs = (xs: ObservedStart[]) => median(xs.map((t) => t.readyAt - t.spawnedAt));
const phasesOf = (xs: ObservedStart[]): Phases => medianPhases(xs.map((t) => splitPhases(t, processStartMs)));
const freshPhases = phasesOf(freshStarts);
// A standby was spawned and imported before the start: what remains is the assignment (request to
// accepted), then the model's load and warm-up.
const sp = phasesOf(standbyStarts);
const phases = {
  spawn_ms: 0,
  runtime_import_ms: 0,
  assign_ms: sp.spawn_ms + sp.runtime_import_ms,
  model_load_ms: sp.model_load_ms,
  warmup_ms: sp.warmup_ms,
};
const coldStartMs = startMs(standbyStarts);
const freshStartMs = startMs(freshStarts);
const firstStartMs = startMs(firstStarts);
log(`cold start (request → ready), median of ${reps}: standby ${coldStartMs.toFixed(1)} ms`, phases);
log(`  fresh process ${freshStartMs.toFixed(1)} ms`, freshPhases);
log(`  first on host (no standby, empty graph cache) ${firstStartMs.toFixed(1)} ms`);

const platform = async (minInstances: number) => {
  const provider = new LocalProvider({ pollIntervalMs: pollMs, graphCacheDir: graphDir });
  const wg = await startWarmgate({
    port: 0,
    host: '127.0.0.1',
    deployments: [demo(minInstances)],
    provider,
    tickMs,
  });
  await provider.standbyPrimed(); // a platform that has been up a while has its standby primed
  return wg;
};
const short = { model: 'demo', prompt: 'ROMEO:\n', max_tokens: 8 };
const ttft = async (url: string) => {
  const s = streamCompletion(url, short);
  try {
    return await s.firstToken;
  } finally {
    await s.done;
  }
};

// Warm hit: one instance (minInstances 1). Ready-idle = nothing else in flight, after a pause;
// serving = a long streaming request to the same instance is mid-generation.
const ttftReps = Number(o['ttft-reps']);
const idleTtft: number[] = [];
const servingTtft: number[] = [];
{
  const wg = await platform(1);
  try {
    const registry = wg.gateway.gateway.registry;
    while (registry.routable('demo').length === 0) await sleep(10);
    await ttft(wg.url); // first request through the gateway's connection pool
    for (let i = 0; i < ttftReps; i++) {
      await sleep(300);
      idleTtft.push(await ttft(wg.url));
    }
    for (let i = 0; i < ttftReps; i++) {
      const bg = streamCompletion(wg.url, { model: 'demo', prompt: 'JULIET:\n', max_tokens: 900 });
      try {
        await bg.firstToken;
        await sleep(20);
        servingTtft.push(await ttft(wg.url));
      } finally {
        bg.abort();
        await bg.done;
      }
    }
  } finally {
    await wg.close();
  }
}
const ttftIdleMs = median(idleTtft);
const ttftServingMs = median(servingTtft);
log(`TTFT ready-idle ${ttftIdleMs.toFixed(2)} ms, while serving ${ttftServingMs.toFixed(2)} ms`);

// Cold vs warm TTFT: minInstances 0, so the first request kicks the controller and waits for the start.
const coldTtft: number[] = [];
const warmTtft: number[] = [];
for (let i = 0; i < Number(o['cold-reps']); i++) {
  const wg = await platform(0);
  try {
    coldTtft.push(await ttft(wg.url));
    for (let j = 0; j < 3; j++) {
      await sleep(100);
      warmTtft.push(await ttft(wg.url));
    }
  } finally {
    await wg.close();
  }
}
const ttftColdMs = median(coldTtft);
const ttftWarmMs = median(warmTtft);
log(`TTFT cold ${ttftColdMs.toFixed(1)} ms, warm ${ttftWarmMs.toFixed(2)} ms`);

// Optional: the same read from a cold page cache (needs root and a writable /proc/sys).
let coldCacheRead: number | string = 'not measured (pass --drop-caches, needs root)';
if (o['drop-caches']) {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    coldCacheRead = round2(readAll().ms);
  } catch (e) {
    coldCacheRead = `not measured: ${(e as Error).message}`;
  }
}

const result = {
  model: o.model,
  phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round2(v)])),
  cold_start_ms: round2(coldStartMs),
  cold_start_fresh_process_ms: round2(freshStartMs),
  phases_fresh_process: Object.fromEntries(Object.entries(freshPhases).map(([k, v]) => [k, round2(v)])),
  cold_start_first_on_host_ms: round2(firstStartMs),
  // Each path against its own floor: standby = read + session; fresh process = node start + read + session.
  floor_standby_ms: round2(floors.standby_ms),
  standby_vs_floor: round2(coldStartMs / floors.standby_ms),
  floor_fresh_process_ms: round2(floors.fresh_process_ms),
  fresh_process_vs_floor: round2(freshStartMs / floors.fresh_process_ms),
  floor_parts: {
    ...Object.fromEntries(Object.entries(floorParts).map(([k, v]) => [k, round2(v)])),
    model_bytes: modelBytes,
    read_from: 'page cache (second read)',
    cold_cache_read_ms: coldCacheRead,
  },
  first_step_after_load_ms: round2(warmupStepMs),
  warm_hit_added_ttft_ms: round2(ttftIdleMs - ttftServingMs),
  ttft_ready_idle_ms: round2(ttftIdleMs),
  ttft_serving_ms: round2(ttftServingMs),
  cold_vs_warm_ttft_ratio: round2(ttftColdMs / ttftWarmMs),
  ttft_cold_ms: round2(ttftColdMs),
  ttft_warm_ms: round2(ttftWarmMs),
  reps,
  ttft_reps: ttftReps,
  cold_reps: coldTtft.length,
  provider_poll_ms: pollMs,
  controller_tick_ms: tickMs,
  machine: describeMachine(),
  date: new Date().toISOString(),
};
rmSync(graphDir, { recursive: true, force: true });
if (o.json) console.log(JSON.stringify(result));
else {
  const { phases: ph, floor_parts: fp, phases_fresh_process: pf, ...rest } = result;
  console.table({
    ...Object.fromEntries(Object.entries(ph).map(([k, v]) => [`phases.${k}`, v])),
    ...Object.fromEntries(Object.entries(pf).map(([k, v]) => [`phases_fresh_process.${k}`, v])),
    ...Object.fromEntries(Object.entries(fp).map(([k, v]) => [`floor_parts.${k}`, v])),
    ...rest,
  });
}
