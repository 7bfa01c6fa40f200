import { BENCH_DEPLOYMENT, startBenchGateway } from './gateway.ts';
import { prefixCounters, prefixHitRate, startInstances } from './instances.ts';
import type { MooncakeRequest } from './mooncake.ts';
import { runReplay, type ReplaySummary, type ReplayTarget } from './replay.ts';

/**
 * 'prefix+session': prefix routing, each request carrying its conversation (x-warmgate-session).
 * 'least-load': the least loaded instance, no prefix affinity and no sessions.
 */
export type RoutingRun = 'prefix' | 'prefix+session' | 'least-load' | 'round-robin' | 'client-round-robin';

export interface RoutingBenchOptions {
  readonly requests: readonly (MooncakeRequest & { readonly session?: string })[];
  readonly instances: number;
  readonly model: string;
  readonly kvMb: number;
  readonly intraOpThreads: number;
  /**
   * 'gateway': the gateway with prefix-aware routing, then with round-robin. 'direct': the client
   * round-robins straight to the instances (no gateway), a baseline that runs without it.
   */
  readonly via: 'gateway' | 'direct';
  /** The runs, in order; default by `via`. Only 'prefix+session' sends the requests' sessions. */
  readonly runs?: readonly RoutingRun[];
}

export interface RoutingRunResult {
  readonly run: RoutingRun;
  readonly replay: ReplaySummary;
  /** Σ hit tokens / Σ queried tokens over the instances during the replay; null if they do not report them. */
  readonly prefixHitRate: number | null;
  /** Σ prefix-cache hit tokens over the instances: prompt tokens whose prefill was saved. */
  readonly prefixHitTokens: number | null;
  /** Σ prompt tokens looked up in the instances' prefix caches: with the hits, what prefill computed. */
  readonly prefixQueryTokens: number | null;
  readonly prefixHitRateNote?: string;
}

/**
 * Part 2: the same open-loop replay once per routing, each on freshly started instances (cold caches),
 * TTFT measured by the client, prefix hits counted by the instances.
 */
export async function runRoutingBench(
  o: RoutingBenchOptions,
  log: (s: string) => void,
): Promise<RoutingRunResult[]> {
  const runs = o.runs ?? (o.via === 'gateway' ? ['prefix', 'round-robin'] : ['client-round-robin']);
  const results: RoutingRunResult[] = [];
  for (const run of runs) {
    const t0 = performance.now();
    const instances = await startInstances({
      count: o.instances,
      model: o.model,
      kvMb: o.kvMb,
      intraOpThreads: o.intraOpThreads,
    });
    log(`${run}: ${o.instances} instances ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    let gateway: { url: string; close(): Promise<void> } | null = null;
    try {
      const before = await Promise.all(instances.urls.map(prefixCounters));
      let target: ReplayTarget;
      if (run === 'client-round-robin') target = { kind: 'instances', urls: instances.urls };
      else {
        gateway = await startBenchGateway(run === 'prefix+session' ? 'prefix' : run, instances.urls);
        target = { kind: 'gateway', url: gateway.url, model: BENCH_DEPLOYMENT };
      }
      const requests =
        run === 'prefix+session'
          ? o.requests
          : o.requests.map((r) => ({ atMs: r.atMs, prompt: r.prompt, maxTokens: r.maxTokens }));
      const replay = await runReplay({ target, requests });
      const after = await Promise.all(instances.urls.map(prefixCounters));
      const rate = prefixHitRate(before, after);
      // How routing spread the prompt tokens over the instances (a skew shows up in TTFT).
      const share = after.map((a, i) => (a && before[i] ? a.queryTokens - before[i]!.queryTokens : null));
      const hits = after.map((a, i) => (a && before[i] ? a.hitTokens - before[i]!.hitTokens : null));
      const total = (xs: (number | null)[]) =>
        xs.includes(null) ? null : (xs as number[]).reduce((x, y) => x + y, 0);
      results.push({
        run,
        replay,
        prefixHitRate: rate,
        prefixHitTokens: total(hits),
        prefixQueryTokens: total(share),
        ...(rate === null
          ? { prefixHitRateNote: 'the instances GET /load reports no prefixHitTokens/prefixQueryTokens' }
          : {}),
      });
      log(
        `${run}: ${replay.requests} requests in ${(replay.wallMs / 1000).toFixed(1)} s, TTFT p50 ${replay.ttftP50Ms.toFixed(1)} ms p90 ${replay.ttftP90Ms.toFixed(1)} ms p99 ${replay.ttftP99Ms.toFixed(1)} ms, prefix hit rate ${rate === null ? 'n/a' : rate.toFixed(3)}, prompt tokens per instance ${share.join('/')}, errors ${replay.errors}${replay.firstError ? ` (first: ${replay.firstError})` : ''}`,
      );
    } finally {
      await gateway?.close();
      await instances.stop();
    }
  }
  return results;
}
