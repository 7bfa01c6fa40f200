import type { DeploymentSpec } from '../deployments/index.ts';
import type { RoutingPolicy } from '../routing/index.ts';
import { startGateway } from '../server/index.ts';

/** The deployment every benchmark request names. */
export const BENCH_DEPLOYMENT = 'bench';

export interface BenchGateway {
  readonly url: string;
  close(): Promise<void>;
}

/** One generative deployment of the demo model with `n` instances, kept as they are. */
function benchSpec(n: number): DeploymentSpec {
  return {
    name: BENCH_DEPLOYMENT,
    kind: 'generative',
    model: { path: 'runtime/models/demo' },
    scaling: {
      minInstances: n,
      maxInstances: n,
      warmBuffer: 0,
      keepAliveMs: 600_000,
      ttftSloMs: 1000,
    },
  };
}

/**
 * The warmgate gateway in this process, in front of instances that are already running and ready,
 * as one generative deployment of the demo model.
 */
export async function startBenchGateway(
  routing: RoutingPolicy,
  urls: readonly string[],
): Promise<BenchGateway> {
  const spec = benchSpec(urls.length);
  const instances = urls.map((url) => ({ deployment: BENCH_DEPLOYMENT, url, kind: 'generative' as const }));
  const gw = await startGateway({
    port: 0,
    host: '127.0.0.1',
    routing,
    instances,
    deployments: [spec],
    telemetry: undefined,
  });
  return { url: gw.url, close: () => gw.close() };
}

/** A gateway as deployments run it, and the API key a client of it sends. */
export interface ProductionBenchGateway extends BenchGateway {
  /** `authorization: Bearer <key>`: a key created through the admin API. */
  readonly headers: Record<string, string>;
  /** Scrapes /metrics every `everyMs` until the returned function is called (what a scraper does). */
  scrapeMetrics(everyMs: number): () => Promise<void>;
}

const BENCH_ADMIN_TOKEN = 'bench-admin-token';

/**
 * The gateway as a deployment configures it, in front of the same instances: deployments, request
 * history (the autoscaler's demand) and API keys in a real Redis, API keys required, and a key created
 * through the admin API with limits that never bind, so that every request pays the key check and the
 * limiter's Redis round trip without ever being refused. Metrics are recorded as always; the caller
 * scrapes them while measuring.
 */
export async function startProductionBenchGateway(
  urls: readonly string[],
  redisUrl: string,
): Promise<ProductionBenchGateway> {
  const gw = await startGateway({
    port: 0,
    host: '127.0.0.1',
    routing: 'round-robin',
    instances: urls.map((url) => ({ deployment: BENCH_DEPLOYMENT, url })),
    deployments: [benchSpec(urls.length)],
    redisUrl,
    apiKeys: 'required',
    adminToken: BENCH_ADMIN_TOKEN,
    telemetry: undefined,
  });
  try {
    const res = await fetch(`${gw.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'bench',
        limits: { requestsPerSecond: 1_000_000, burst: 1_000_000, tokensPerMinute: 1e12, tokensPerDay: 1e15 },
      }),
    });
    if (res.status !== 201)
      throw new Error(`creating an API key answered ${res.status}: ${await res.text()}`);
    const { key } = (await res.json()) as { key: string };
    return {
      url: gw.url,
      headers: { authorization: `Bearer ${key}` },
      close: () => gw.close(),
      scrapeMetrics(everyMs) {
        let last: Promise<unknown> = Promise.resolve();
        const timer = setInterval(() => {
          last = fetch(`${gw.url}/metrics`).then(
            (r) => r.text(),
            () => undefined,
          );
        }, everyMs);
        return async () => {
          clearInterval(timer);
          await last;
        };
      },
    };
  } catch (err) {
    await gw.close();
    throw err;
  }
}
