/**
 * npm run soak [-- --json] [--minutes 10] [--max-rps 4] [--trace PATH] [--token-scale 0.2] ...
 *
 * Load and soak: the Azure LLM conversation trace (2023), compressed to --minutes and scaled to the demo
 * model, replayed open-loop as streaming chat completions through the whole platform in this process
 * (gateway, controller, Redis, local runtime instances). Reports requests, failures, TTFT, throughput,
 * this process's RSS and open handles after warm-up and after the load, and the KV blocks the instances
 * still hold at the end. With --json the last line of stdout is the result object. Exit code 0 when no
 * request failed, 1 otherwise.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from '../../runtime/bench/machine.ts';
import { r2 } from '../../gateway/bench/stats.ts';
import { repoRoot } from '../../gateway/bench/paths.ts';
import { DATA } from '../../runtime/bench/data-files.ts';
import { requestBody, runClient } from './client.ts';
import { DEFAULT_CONVERSATIONS, type SoakRequest } from './conversations.ts';
import { type LoadSummary, summarise } from './outcome.ts';
import { gcExposed, sampleInstances, sampleProcess } from './probes.ts';
import { type SoakJson, soakJson, summaryLines } from './report.ts';
import { slopePerMinute, type TimedValue } from './trend.ts';
import { type Stack, startStack } from './stack.ts';
import { describeWorkload, loadWorkload, type WorkloadOptions } from './workload.ts';

const root = repoRoot();
const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    minutes: { type: 'string', default: '10' },
    trace: { type: 'string', default: DATA.azureLlmConv },
    // 4 req/s of ~230-token prompts and ~43-token outputs keeps one demo instance on 2 shared cores
    // well below saturation, so a TTFT or memory trend is the platform's, not a queue's.
    'max-rps': { type: 'string', default: '4' },
    'token-scale': { type: 'string', default: '0.2' },
    'max-output-tokens': { type: 'string', default: '256' },
    'context-margin': { type: 'string', default: '64' },
    reuse: { type: 'string', default: String(DEFAULT_CONVERSATIONS.reuse) },
    seed: { type: 'string', default: String(DEFAULT_CONVERSATIONS.seed) },
    corpus: { type: 'string', default: DATA.tinyShakespeare },
    model: { type: 'string', default: join(root, 'runtime/models/demo') },
    'max-instances': { type: 'string', default: '1' },
    warmup: { type: 'string', default: '300' },
    'settle-s': { type: 'string', default: '6' },
  },
});
const num = (name: keyof typeof o, min: number): number => {
  const v = Number(o[name]);
  if (!Number.isFinite(v) || v < min)
    throw new Error(`--${name} must be a number ≥ ${min}, got ${String(o[name])}`);
  return v;
};
// With --json, stdout carries only the extras line and the result line; progress goes to stderr.
const log = (s: string) => (o.json ? console.error(s) : console.log(s));
const MODEL = 'demo';
const minutes = num('minutes', 0.01);
const settleMs = num('settle-s', 0) * 1000;

const workloadOptions: WorkloadOptions = {
  tracePath: o.trace,
  corpusPath: o.corpus,
  modelPath: o.model,
  contextMargin: num('context-margin', 0),
  schedule: {
    minutes,
    maxRps: num('max-rps', 0.001),
    tokenScale: num('token-scale', 0.0001),
    maxOutputTokens: num('max-output-tokens', 1),
    minPromptTokens: 32,
  },
  conversations: { ...DEFAULT_CONVERSATIONS, seed: num('seed', 0), reuse: num('reuse', 0) },
  warmup: Math.floor(num('warmup', 0)),
};
const workload = await loadWorkload(workloadOptions);
log(`${new Date().toISOString()}  ${describeMachine()}`);
for (const line of describeWorkload(workload, workloadOptions)) log(line);

const stop = new AbortController();
process.on('SIGINT', () => {
  if (stop.signal.aborted) process.exit(130);
  log('interrupted: stopping the client, then the platform');
  stop.abort();
});

const jobOf = (url: string, rs: readonly SoakRequest[]) => ({
  url,
  requests: rs.map((r) => ({ atMs: r.atMs, body: requestBody(MODEL, r) })),
});
const replay = async (url: string, rs: readonly SoakRequest[]): Promise<LoadSummary> => {
  const r = await runClient(jobOf(url, rs), stop.signal);
  return summarise(r.outcomes, r.wallMs, r.maxSendLagMs);
};

/**
 * Logs RSS, heap, handles and what each instance holds every `everyMs` until stopped, and keeps the RSS
 * and heap readings for their trend. With --expose-gc (npm run soak) each reading follows a full gc, so
 * the heap's trend is what stays reachable, not garbage not yet collected.
 */
function watch(
  stack: Stack,
  everyMs: number,
): { stop(): void; rssPeakMb: () => number; rss: TimedValue[]; heap: TimedValue[] } {
  const t0 = Date.now();
  let peak = 0;
  const rss: TimedValue[] = [];
  const heap: TimedValue[] = [];
  const timer = setInterval(() => {
    const tMs = Date.now() - t0;
    const liveRss = Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10;
    peak = Math.max(peak, liveRss);
    void sampleProcess(1).then((p) => {
      rss.push({ tMs, value: p.rssMb });
      heap.push({ tMs, value: p.heapUsedMb });
      return sampleInstances(stack.instances()).then((s) =>
        log(
          `  ${(tMs / 1000).toFixed(0)} s: RSS ${p.rssMb} MB, heap ${p.heapUsedMb} MB, ${p.handles} handles; ` +
            s
              .map(
                (i) =>
                  `${i.id} running ${i.report?.running ?? '?'} waiting ${i.report?.waiting ?? '?'} ` +
                  `kv ${i.kvBlocksInUse ?? '?'}`,
              )
              .join('; '),
        ),
      );
    });
  }, everyMs);
  return { stop: () => clearInterval(timer), rssPeakMb: () => peak, rss, heap };
}

let stack: Stack | null = null;
let output: { extras: object; result: SoakJson } | null = null;
try {
  log('starting redis-server and the platform (gateway + controller, local provider)…');
  stack = await startStack({
    signal: stop.signal,
    deployment: {
      name: MODEL,
      kind: 'generative',
      model: { path: o.model },
      scaling: {
        minInstances: 1,
        maxInstances: Math.floor(num('max-instances', 1)),
        warmBuffer: 0,
        keepAliveMs: 600_000,
        ttftSloMs: 1000,
      },
    },
  });
  log(
    `gateway ${stack.url}, redis ${stack.redisUrl}; instances: ` +
      stack
        .instances()
        .map((i) => `${i.id} ${i.state}`)
        .join(', '),
  );
  let warmupFailures = 0;
  if (workload.warmup.length) {
    const w = await replay(stack.url, workload.warmup);
    warmupFailures = w.failures;
    log(`warm-up: ${w.requests} requests, ${w.failures} failed, TTFT p50 ${w.ttftP50Ms.toFixed(1)} ms`);
  }
  await stack.settle(settleMs);
  const start = await sampleProcess();
  const socketsStart = stack.sockets();
  log(
    `start (gc ${gcExposed() ? 'run' : 'not available'}): RSS ${start.rssMb} MB, ${start.handles} open handles`,
  );

  const watcher = watch(stack, Math.min(30_000, Math.max(5_000, (minutes * 60_000) / 10)));
  let load: LoadSummary;
  try {
    log(`load: ${workload.requests.length} requests over ${workload.mapping.spanS} s…`);
    load = await replay(stack.url, workload.requests);
  } finally {
    watcher.stop();
  }
  await stack.settle(settleMs);
  const instances = await sampleInstances(stack.instances());
  const end = await sampleProcess();
  const socketsEnd = stack.sockets();
  const result = soakJson(
    load,
    start,
    end,
    instances.map((i) => i.kvBlocksInUse),
  );
  for (const line of summaryLines(result, load, start, end)) log(line);
  log(`sockets by peer: start ${JSON.stringify(socketsStart)}, end ${JSON.stringify(socketsEnd)}`);
  for (const i of instances)
    log(
      `  ${i.id}: ${
        i.error ??
        `kv ${i.kvBlocksInUse}/${i.report?.kvTotalBlocks} blocks in use, ` +
          `prefix hit rate ${(i.report?.prefixHitRate ?? 0).toFixed(3)}, outstanding ${i.report?.outstanding}`
      }`,
    );
  output = {
    result,
    extras: {
      mapping: workload.mapping,
      conversations_continued: workload.requests.filter((r) => r.turn > 1).length,
      warmup_requests: workload.warmup.length,
      warmup_failures: warmupFailures,
      no_content: load.noContent,
      ttft_ms_max: r2(load.ttftMaxMs),
      latency_ms_p50: r2(load.latencyP50Ms),
      latency_ms_p99: r2(load.latencyP99Ms),
      rps: r2(load.rps),
      generated_tokens_per_s: r2(load.tokensPerS),
      wall_s: r2(load.wallMs / 1000),
      max_send_lag_ms: r2(load.maxSendLagMs),
      rss_mb_peak_live: Math.max(watcher.rssPeakMb(), start.rssMb, end.rssMb),
      heap_mb_start: start.heapUsedMb,
      // Least-squares trend of the readings taken during the load (after warm-up), per minute.
      rss_mb_per_min: slopePerMinute(watcher.rss),
      heap_mb_per_min: slopePerMinute(watcher.heap),
      trend_readings: watcher.rss.length,
      heap_mb_end: end.heapUsedMb,
      handles_by_kind_start: start.byKind,
      handles_by_kind_end: end.byKind,
      sockets_start: socketsStart,
      sockets_end: socketsEnd,
      instances: instances.map((i) => ({
        id: i.id,
        kv_blocks_in_use: i.kvBlocksInUse,
        kv_total_blocks: i.report?.kvTotalBlocks ?? null,
        prefix_hit_rate: i.report?.prefixHitRate ?? null,
      })),
      failure_samples: load.failureSamples,
      gc: gcExposed(),
      machine: describeMachine(),
      date: new Date().toISOString(),
    },
  };
} catch (e) {
  console.error(
    stop.signal.aborted
      ? 'soak interrupted'
      : `soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
  );
} finally {
  await stack?.close();
}
// Printed once everything is stopped, so the result is stdout's last line.
if (output && o.json) {
  console.log(JSON.stringify({ extras: output.extras }));
  console.log(JSON.stringify(output.result));
}
process.exitCode = output?.result.failures === 0 ? 0 : 1;
// Everything is closed: the process should end by itself. If something still holds the event loop, name it.
setTimeout(() => {
  console.error(`still running 10 s after shutdown: ${process.getActiveResourcesInfo().join(', ')}`);
  process.exit();
}, 10_000).unref();
