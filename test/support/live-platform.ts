import type { DeploymentSpec } from '../../gateway/deployments/index.ts';
import { LocalProvider } from '../../warmpool/providers/index.ts';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

/**
 * The live controller tests' platform: a real redis-server, and warmgate with the local provider (real
 * instance processes) following `spec` at a 250 ms tick. Its standby process is primed first: a platform
 * that has been up has one, and the host's very first spawn (imports, runtime set-up; seconds on a busy
 * machine) is not the cold start these tests are about.
 */
export async function startLivePlatform(
  spec: DeploymentSpec,
): Promise<{ wg: RunningWarmgate; close(): Promise<void> }> {
  const redis: RedisServer = await startRedisServer();
  const provider = new LocalProvider();
  const wg = await startWarmgate({
    port: 0,
    tickMs: 250,
    redisUrl: redis.url,
    deployments: [spec],
    provider,
  });
  provider.prepare(spec);
  await provider.standbyPrimed();
  return {
    wg,
    async close() {
      await wg.close();
      await redis.stop();
    },
  };
}

/** Calls /v1/completions on `model` at each time in `at` (epoch ms); each call's status. */
export function completionsAt(url: string, model: string, at: readonly number[]): Promise<number[]> {
  return Promise.all(
    at.map(async (t) => {
      await new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, prompt: 'tick', max_tokens: 2 }),
      });
      await res.text();
      return res.status;
    }),
  );
}
