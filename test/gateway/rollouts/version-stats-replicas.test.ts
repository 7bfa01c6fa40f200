// Two gateway replicas on one real redis-server, over HTTP, with a real tiny-model instance: requests
// served through replica A show in replica B's GET /admin/v1/deployments/{name}/rollout figures, which
// say they are shared. Before, each replica showed (and judged its canaries from) its own slice only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerType } from '@hono/node-server';
import { checkDeployment } from '../../../gateway/deployments/index.ts';
import { type RunningGateway, startGateway } from '../../../gateway/server/index.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import { until } from '../../faults/support.ts';
import { ADMIN_HEADERS, ADMIN_TOKEN, deployment, MODELS } from '../../support/platform.ts';
import { type RedisServer, startRedisServer } from '../../support/redis-server.ts';
import { listen } from '../../runtime/instance/helpers.ts';

const SPEC = checkDeployment(
  deployment('tiny', 'generative', 'tiny', { versions: [{ version: 2, model: { path: `${MODELS}tiny` } }] }),
);
const SENT = 5;

interface RolloutAnswer {
  shared: boolean;
  versions: { version: number; window: { requests: number; errors: number; ttftP90Ms: number | null } }[];
}

describe('version figures across gateway replicas (real redis-server, HTTP)', { timeout: 60_000 }, () => {
  const inst = new RuntimeInstance({
    modelDir: `${MODELS}tiny`,
    kind: 'generative',
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
    drainTimeoutMs: 5000,
  });
  let server: ServerType;
  let redis: RedisServer;
  const gateways: RunningGateway[] = [];

  before(async () => {
    redis = await startRedisServer();
    let url: string;
    ({ url, server } = await listen(inst));
    await inst.start();
    for (const instances of [[{ deployment: 'tiny', url }], []]) {
      gateways.push(
        await startGateway({
          port: 0,
          redisUrl: redis.url,
          adminToken: ADMIN_TOKEN,
          pollIntervalMs: 100,
          deployments: [SPEC],
          instances,
        }),
      );
    }
  });
  after(async () => {
    for (const g of gateways) await g.close();
    server?.close();
    await inst.stop();
    await redis?.stop();
  });

  const rolloutAt = async (g: RunningGateway): Promise<RolloutAnswer> => {
    const res = await fetch(`${g.url}/admin/v1/deployments/tiny/rollout`, { headers: ADMIN_HEADERS });
    assert.equal(res.status, 200);
    return (await res.json()) as RolloutAnswer;
  };

  it("requests through replica A are in replica B's rollout figures", async () => {
    const [a, b] = gateways as [RunningGateway, RunningGateway];
    await until(
      () => (a.gateway.registry.routable('tiny').length > 0 ? true : undefined),
      "A's instance ready",
      20_000,
    );
    for (let i = 0; i < SENT; i++) {
      const res = await fetch(`${a.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: 'hi', max_tokens: 2, temperature: 0 }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    // A writes its counts every 500 ms; B reads them on each GET.
    const seen = await until(
      async () => {
        const r = await rolloutAt(b);
        return r.versions[0]!.window.requests >= SENT ? r : undefined;
      },
      "A's requests in B's figures",
      10_000,
    );
    assert.equal(seen.shared, true);
    const [v1, v2] = seen.versions;
    assert.deepEqual([v1!.version, v1!.window.requests, v1!.window.errors], [1, SENT, 0]);
    assert.ok(v1!.window.ttftP90Ms !== null && v1!.window.ttftP90Ms > 0, 'a TTFT p90 from A');
    assert.deepEqual([v2!.version, v2!.window.requests], [2, 0]);
    // Counted once, at A as at B.
    const atA = await rolloutAt(a);
    assert.equal(atA.shared, true);
    assert.equal(atA.versions[0]!.window.requests, SENT);
  });
});
