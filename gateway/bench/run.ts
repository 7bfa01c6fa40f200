/**
 * npm run bench:gateway [-- --json] [--part all|proxy|routing] [--concurrency 8] [--requests N] ...
 *
 * Part 1, proxy overhead: one trivial upstream on loopback, measured directly, through nginx (Debian's,
 * installed when absent, run with a generated keep-alive config) and through the warmgate gateway, at
 * fixed concurrency. Part 2, routing quality: the Mooncake conversation trace replayed through the
 * gateway over runtime instances of the demo model, prefix-aware routing against round-robin.
 * Part 1 measures the gateway twice: as it has always been measured (in-memory history, no API keys:
 * `gateway_*`) and as a deployment runs it (Redis history and keys, a key required and sent, /metrics
 * scraped: `production_*`). A failed request is an error, never a served one: `errors` counts them all,
 * and the run exits with 1 when there is any.
 */
import { parseArgs } from 'node:util';
import { describeMachine } from '../../runtime/bench/machine.ts';
import { loadMooncake, unboundedPrefixHitRate } from './mooncake.ts';
import { runProxyBench, type TargetName, type TargetOutcome } from './proxy-bench.ts';
import { runRoutingBench, type RoutingRunResult } from './routing-bench.ts';
import { r2, r4 } from './stats.ts';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    part: { type: 'string', default: 'all' },
    // 8 in flight by default: at 16 and more a closed loop saturates the cores of a small machine for
    // every target, nginx included, and p50 then restates throughput (about concurrency / req/s) instead
    // of measuring the latency a proxy adds. BENCHMARKS.md has both targets from 1 to 32.
    concurrency: { type: 'string', default: '8' },
    'duration-s': { type: 'string', default: '4' },
    'warmup-s': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'no-install': { type: 'boolean', default: false },
    requests: { type: 'string', default: '400' },
    'time-scale': { type: 'string', default: '0.25' },
    instances: { type: 'string', default: '4' },
    'kv-mb': { type: 'string', default: '16' },
    // One intra-op thread each: four instances on a small machine share its cores without oversubscribing.
    'instance-threads': { type: 'string', default: '1' },
    model: { type: 'string', default: 'runtime/models/demo' },
    'routing-via': { type: 'string', default: 'gateway' },
  },
});
if (!['all', 'proxy', 'routing'].includes(o.part))
  throw new Error(`--part must be all, proxy or routing, got ${o.part}`);
if (o['routing-via'] !== 'gateway' && o['routing-via'] !== 'direct')
  throw new Error(`--routing-via must be gateway or direct, got ${o['routing-via']}`);
// With --json the last line of stdout is the result; progress goes to stderr.
const log = (s: string) => (o.json ? console.error(s) : console.log(s));
const date = new Date().toISOString();
const machine = describeMachine();
log(`${date}  ${machine}`);

const result: Record<string, unknown> = {};
/** Failed requests over every target and run of this benchmark. */
let errors = 0;
const rows: string[][] = [];
const table = (header: string[], body: string[][]) => {
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all)
    log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   '));
};

if (o.part !== 'routing') {
  const concurrency = Number(o.concurrency);
  const rounds = Number(o.rounds);
  const durationMs = Number(o['duration-s']) * 1000;
  const warmupMs = Number(o['warmup-s']) * 1000;
  log(
    `\npart 1: proxy overhead on loopback, one trivial upstream (one token per request), concurrency ${concurrency}, ` +
      `${rounds} rounds x ${durationMs / 1000} s per target (+${warmupMs / 1000} s warm-up each), interleaved`,
  );
  const p = await runProxyBench(
    { concurrency, durationMs, warmupMs, rounds, installNginx: !o['no-install'] },
    log,
  );
  const load = (t: TargetOutcome) => (t.ok ? t.load : null);
  const names: TargetName[] = ['direct', 'nginx', 'gateway', 'production'];
  const [direct, nginx, gateway, production] = names.map((n) => load(p.targets[n]));
  for (const n of names) errors += load(p.targets[n])?.errors ?? 0;
  for (const name of names) {
    const t = p.targets[name];
    rows.push(
      t.ok
        ? [
            name,
            t.load.rps.toFixed(0),
            t.load.p50Ms.toFixed(3),
            t.load.p99Ms.toFixed(3),
            String(t.load.errors),
          ]
        : [name, '-', '-', '-', '-'],
    );
  }
  log('');
  table(['target', 'req/s', 'p50 ms', 'p99 ms', 'errors'], rows);
  for (const name of names) {
    const t = p.targets[name];
    log(`${name}: ${t.ok ? p.requests[name] : `not measured: ${t.reason}`}`);
  }
  const productionRatio = production && nginx ? production.rps / nginx.rps : null;
  const productionAdded = production && direct ? production.p50Ms - direct.p50Ms : null;
  const ratio = gateway && nginx ? gateway.rps / nginx.rps : null;
  const added = gateway && direct ? gateway.p50Ms - direct.p50Ms : null;
  log(
    `gateway/nginx req/s ${ratio === null ? 'n/a' : ratio.toFixed(3)} (target >= 0.5); ` +
      `added p50 (gateway - direct) ${added === null ? 'n/a' : `${added.toFixed(3)} ms`} (target <= 0.5 ms)`,
  );
  log(
    `production/nginx req/s ${productionRatio === null ? 'n/a' : productionRatio.toFixed(3)}; ` +
      `added p50 (production - direct) ${productionAdded === null ? 'n/a' : `${productionAdded.toFixed(3)} ms`}`,
  );
  Object.assign(result, {
    direct_rps: r2(direct?.rps ?? null),
    nginx_rps: r2(nginx?.rps ?? null),
    gateway_rps: r2(gateway?.rps ?? null),
    gateway_vs_nginx_rps: r4(ratio),
    added_p50_ms: r4(added),
    nginx_added_p50_ms: r4(nginx && direct ? nginx.p50Ms - direct.p50Ms : null),
    direct_p50_ms: r4(direct?.p50Ms ?? null),
    nginx_p50_ms: r4(nginx?.p50Ms ?? null),
    gateway_p50_ms: r4(gateway?.p50Ms ?? null),
    direct_p99_ms: r4(direct?.p99Ms ?? null),
    nginx_p99_ms: r4(nginx?.p99Ms ?? null),
    gateway_p99_ms: r4(gateway?.p99Ms ?? null),
    direct_errors: direct?.errors ?? null,
    nginx_errors: nginx?.errors ?? null,
    gateway_errors: gateway?.errors ?? null,
    // The gateway as deployed (Redis history and keys, a key required and sent, /metrics scraped).
    production_rps: r2(production?.rps ?? null),
    production_vs_nginx_rps: r4(productionRatio),
    production_added_p50_ms: r4(productionAdded),
    production_p50_ms: r4(production?.p50Ms ?? null),
    production_p99_ms: r4(production?.p99Ms ?? null),
    production_errors: production?.errors ?? null,
    concurrency,
    duration_s: (rounds * durationMs) / 1000,
    rounds,
    warmup_s: warmupMs / 1000,
    nginx_version: p.nginxVersion,
    ...(p.targets.nginx.ok ? {} : { nginx_reason: p.targets.nginx.reason }),
    ...(p.targets.gateway.ok ? {} : { gateway_reason: p.targets.gateway.reason }),
    ...(p.targets.production.ok ? {} : { production_reason: p.targets.production.reason }),
    gateway_request: p.requests.gateway,
    direct_request: p.requests.direct,
    production_request: p.requests.production,
  });
}

if (o.part !== 'proxy') {
  const timeScale = Number(o['time-scale']);
  const requests = await loadMooncake({ limit: Number(o.requests), blockBytes: 16, timeScale });
  const spanS = requests.at(-1)!.atMs / 1000;
  const promptMean = requests.reduce((a, r) => a + r.prompt.length, 0) / requests.length;
  const outputMean = requests.reduce((a, r) => a + r.maxTokens, 0) / requests.length;
  const ideal = unboundedPrefixHitRate(requests);
  log(
    `\npart 2: routing quality, the first ${requests.length} requests of the Mooncake conversation trace ` +
      `(512-token blocks as 16 bytes, at most 55 blocks; output /64, 1..16; time x${timeScale}: ` +
      `${(requests.length / spanS).toFixed(1)} req/s over ${spanS.toFixed(0)} s; prompt mean ${promptMean.toFixed(0)}, ` +
      `output mean ${outputMean.toFixed(1)} tokens) over ${o.instances} instances of ${o.model} (--kv-mb ${o['kv-mb']}, --intra-op-threads ${o['instance-threads']}), ` +
      `open loop, TTFT at the client (first streamed chunk with text); ` +
      `one unbounded cache would hit ${ideal.toFixed(4)} of prompt tokens`,
  );
  const runs = await runRoutingBench(
    {
      requests,
      instances: Number(o.instances),
      model: o.model,
      kvMb: Number(o['kv-mb']),
      intraOpThreads: Number(o['instance-threads']),
      via: o['routing-via'] as 'gateway' | 'direct',
    },
    log,
  );
  log('');
  table(
    ['routing', 'prefix hit rate', 'TTFT p50 ms', 'TTFT p99 ms', 'errors', 'no text'],
    runs.map((r) => [
      r.run,
      r.prefixHitRate === null ? 'n/a' : r.prefixHitRate.toFixed(4),
      r.replay.ttftP50Ms.toFixed(1),
      r.replay.ttftP99Ms.toFixed(1),
      String(r.replay.errors),
      String(r.replay.noText),
    ]),
  );
  for (const r of runs) errors += r.replay.errors;
  const by = (run: string): RoutingRunResult | undefined => runs.find((r) => r.run === run);
  const aware = by('prefix');
  const rr = by('round-robin') ?? by('client-round-robin');
  Object.assign(result, {
    prefix_hit_rate_aware: r4(aware?.prefixHitRate ?? null),
    prefix_hit_rate_rr: r4(rr?.prefixHitRate ?? null),
    prefix_hit_rate_unbounded: r4(ideal),
    ttft_p50_ms_aware: r2(aware?.replay.ttftP50Ms ?? null),
    ttft_p50_ms_rr: r2(rr?.replay.ttftP50Ms ?? null),
    ttft_p99_ms_aware: r2(aware?.replay.ttftP99Ms ?? null),
    ttft_p99_ms_rr: r2(rr?.replay.ttftP99Ms ?? null),
    routing_errors_aware: aware?.replay.errors ?? null,
    routing_errors_rr: rr?.replay.errors ?? null,
    routing_via: o['routing-via'],
    routing_requests: requests.length,
    routing_time_scale: timeScale,
    routing_offered_rps: r2(requests.length / spanS),
    routing_prompt_tokens_mean: r2(promptMean),
    routing_output_tokens_mean: r2(outputMean),
    routing_instances: Number(o.instances),
    routing_kv_mb: Number(o['kv-mb']),
    routing_instance_threads: Number(o['instance-threads']),
    ...(runs.find((r) => r.prefixHitRateNote)
      ? { prefix_hit_rate_note: runs.find((r) => r.prefixHitRateNote)!.prefixHitRateNote }
      : {}),
  });
}

Object.assign(result, { errors, machine, date });
if (o.json) console.log(JSON.stringify(result));
if (errors > 0) {
  // Figures with failed requests in them are not of the path they name.
  console.error(`bench:gateway: ${errors} request(s) failed; the figures above do not stand`);
  process.exitCode = 1;
}
