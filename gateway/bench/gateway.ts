import type { DeploymentSpec } from '../deployments/index.ts';
import { startGateway } from '../server/index.ts';

/** The deployment every benchmark request names. */
export const BENCH_DEPLOYMENT = 'bench';

export interface BenchGateway {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The warmgate gateway in this process, in front of instances that are already running and ready,
 * as one generative deployment of the demo model.
 */
export async function startBenchGateway(
  routing: 'prefix' | 'round-robin',
  urls: readonly string[],
): Promise<BenchGateway> {
  const spec: DeploymentSpec = {
    name: BENCH_DEPLOYMENT,
    kind: 'generative',
    model: { path: 'runtime/models/demo' },
    scaling: {
      minInstances: urls.length,
      maxInstances: urls.length,
      warmBuffer: 0,
      keepAliveMs: 600_000,
      ttftSloMs: 1000,
    },
  };
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
