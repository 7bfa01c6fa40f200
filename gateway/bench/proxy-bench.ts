import {
  type BenchGateway,
  BENCH_DEPLOYMENT,
  type ProductionBenchGateway,
  startBenchGateway,
  startProductionBenchGateway,
} from './gateway.ts';
import { type LoadResult, type LoadSamples, sampleLoad, summariseLoad } from './load.ts';
import { ensureNginx, type RunningNginx, startNginx } from './nginx.ts';
import { type LaunchedRedis, launchRedis } from './redis-launcher.ts';
import { startTrivialUpstream } from './trivial-upstream.ts';

export interface ProxyBenchOptions {
  readonly concurrency: number;
  /** Measured time of one target in one round. */
  readonly durationMs: number;
  /** Unmeasured lead-in of every run (fresh connections each run). */
  readonly warmupMs: number;
  /** Rounds; each runs every target once, in an order rotated round by round. */
  readonly rounds: number;
  /** Install nginx with apt-get when absent. */
  readonly installNginx: boolean;
}

/**
 * `gateway`: in-memory history, no API keys (the figure BENCHMARKS.md has tracked since the start);
 * `production`: the configuration a deployment runs (startProductionBenchGateway), beside it in the run.
 */
export type TargetName = 'direct' | 'nginx' | 'gateway' | 'production';

/** How often the production gateway's /metrics is scraped while it is measured. */
const METRICS_SCRAPE_MS = 1000;

/** A target's pooled result, or why it was not measured. */
export type TargetOutcome =
  { readonly ok: true; readonly load: LoadResult } | { readonly ok: false; readonly reason: string };

export interface ProxyBenchResult {
  readonly targets: Record<TargetName, TargetOutcome>;
  readonly nginxVersion: string | null;
  /** What each target is sent, for the report. */
  readonly requests: Record<TargetName, string>;
}

// The instance's own body to the instance (and through nginx, which forwards bytes); the OpenAI body to
// the gateway, which parses, validates and translates it into the instance body before forwarding.
const INSTANCE_BODY = JSON.stringify({ prompt: 'hello', params: { maxTokens: 1 } });
const OPENAI_BODY = JSON.stringify({ model: BENCH_DEPLOYMENT, prompt: 'hello', max_tokens: 1 });

interface Target {
  readonly name: TargetName;
  readonly url: string;
  readonly path: string;
  readonly body: string;
  readonly expect: string;
  readonly headers?: Record<string, string>;
  /** Runs while the target is measured; the function it returns stops it. */
  readonly during?: () => () => Promise<void>;
}

/** One request through a target before any load: a target that cannot answer is reported, not measured. */
async function probe(t: Target): Promise<string | null> {
  try {
    const res = await fetch(`${t.url}${t.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...t.headers },
      body: t.body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.ok && text.includes(t.expect)) return null;
    return `probe answered ${res.status}: ${text.slice(0, 300)}`;
  } catch (err) {
    return `probe failed: ${String(err)}`;
  }
}

/**
 * Part 1: req/s and latency at fixed concurrency on loopback, against one trivial upstream, directly,
 * through nginx and through the gateway; the same load generator, concurrency and windows for each,
 * interleaved so drift on a noisy machine spreads over all three.
 */
export async function runProxyBench(
  o: ProxyBenchOptions,
  log: (s: string) => void,
): Promise<ProxyBenchResult> {
  const outcomes: Partial<Record<TargetName, TargetOutcome>> = {};
  const upstream = await startTrivialUpstream();
  let nginx: RunningNginx | null = null;
  let gateway: BenchGateway | null = null;
  let redis: LaunchedRedis | null = null;
  let production: ProductionBenchGateway | null = null;
  let nginxVersion: string | null = null;
  try {
    const targets: Target[] = [
      {
        name: 'direct',
        url: upstream.url,
        path: '/generate',
        body: INSTANCE_BODY,
        expect: '"type":"finish"',
      },
    ];
    const binary = await ensureNginx({ install: o.installNginx });
    if (binary.ok) {
      nginxVersion = binary.version;
      if (binary.installed) log(`installed ${binary.version} (${binary.path})`);
      try {
        nginx = await startNginx(binary.path, upstream.url);
        targets.push({
          name: 'nginx',
          url: nginx.url,
          path: '/generate',
          body: INSTANCE_BODY,
          expect: '"type":"finish"',
        });
      } catch (err) {
        outcomes.nginx = { ok: false, reason: `nginx did not start: ${(err as Error).message}` };
      }
    } else {
      outcomes.nginx = { ok: false, reason: binary.reason };
    }
    try {
      gateway = await startBenchGateway('round-robin', [upstream.url]);
      targets.push({
        name: 'gateway',
        url: gateway.url,
        path: '/v1/completions',
        body: OPENAI_BODY,
        expect: '"choices"',
      });
    } catch (err) {
      outcomes.gateway = { ok: false, reason: `gateway did not start: ${(err as Error).message}` };
    }
    try {
      redis = await launchRedis();
      const prod = await startProductionBenchGateway([upstream.url], redis.url);
      production = prod;
      targets.push({
        name: 'production',
        url: prod.url,
        path: '/v1/completions',
        body: OPENAI_BODY,
        expect: '"choices"',
        headers: prod.headers,
        during: () => prod.scrapeMetrics(METRICS_SCRAPE_MS),
      });
    } catch (err) {
      outcomes.production = {
        ok: false,
        reason: `production gateway did not start: ${(err as Error).message}`,
      };
    }

    const live: Target[] = [];
    for (const t of targets) {
      const failure = await probe(t);
      if (failure) outcomes[t.name] = { ok: false, reason: failure };
      else live.push(t);
    }
    const samples = new Map<TargetName, LoadSamples[]>(live.map((t) => [t.name, []]));
    for (let round = 0; round < o.rounds; round++) {
      for (let k = 0; k < live.length; k++) {
        const t = live[(round + k) % live.length]!;
        const stop = t.during?.();
        let s: LoadSamples;
        try {
          s = await sampleLoad({
            url: t.url,
            path: t.path,
            body: t.body,
            ...(t.headers && { headers: t.headers }),
            concurrency: o.concurrency,
            durationMs: o.durationMs,
            warmupMs: o.warmupMs,
            expect: t.expect,
          });
        } finally {
          await stop?.();
        }
        samples.get(t.name)!.push(s);
        const one = summariseLoad([s]);
        log(
          `round ${round + 1}/${o.rounds} ${t.name.padEnd(10)} ${one.rps.toFixed(0).padStart(7)} req/s  p50 ${one.p50Ms.toFixed(3)} ms  p99 ${one.p99Ms.toFixed(3)} ms  errors ${one.errors}`,
        );
      }
    }
    for (const [name, runs] of samples) outcomes[name] = { ok: true, load: summariseLoad(runs) };
  } finally {
    await gateway?.close();
    await production?.close();
    await redis?.stop();
    await nginx?.stop();
    await upstream.stop();
  }
  return {
    targets: {
      direct: outcomes.direct!,
      nginx: outcomes.nginx ?? { ok: false, reason: 'not measured' },
      gateway: outcomes.gateway ?? { ok: false, reason: 'not measured' },
      production: outcomes.production ?? { ok: false, reason: 'not measured' },
    },
    nginxVersion,
    requests: {
      direct: 'POST /generate, the instance body',
      nginx: 'POST /generate, the instance body, forwarded as bytes',
      gateway: 'POST /v1/completions, an OpenAI body the gateway parses, validates and translates',
      production:
        'the same request with an API key, to a gateway with Redis history and keys, keys required, /metrics scraped every 1 s',
    },
  };
}
