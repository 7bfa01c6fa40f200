// The platform in one process (gateway + controller + local provider) with real instance processes: the
// controller measures how many concurrent requests an instance serves within the deployment's TTFT SLO
// from the first tokens the gateway sees, and scales on that instead of the instance's batch size.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startWarmgate } from '../../warmpool/platform.ts';
import type { Decision } from '../../warmpool/controller/index.ts';
import { deployment } from '../support/platform.ts';

/** Six clients streaming completions back to back for `ms`; the decisions made meanwhile. */
async function underLoad(
  ttftSloMs: number,
  ms: number,
): Promise<{ decisions: Decision[]; failures: string[] }> {
  const wg = await startWarmgate({
    port: 0,
    tickMs: 200,
    deployments: [
      deployment('tiny', 'generative', 'tiny', {
        // The instances batch up to 32 requests at once: 6 in flight fit one, unless the SLO says not.
        batching: { maxRunningSeqs: 32 },
        scaling: { minInstances: 1, maxInstances: 3, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs },
      }),
    ],
  });
  try {
    const registry = wg.gateway.gateway.registry;
    const ready = Date.now() + 30_000;
    while (registry.routable('tiny').length < 1) {
      assert.ok(Date.now() < ready, 'an instance ready within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const failures: string[] = [];
    const end = Date.now() + ms;
    const client = async (k: number) => {
      for (let i = 0; Date.now() < end; i++) {
        const res = await fetch(`${wg.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'tiny', prompt: `client ${k} ${i}`, max_tokens: 16, stream: true }),
        });
        if (res.status !== 200) failures.push(`${res.status} ${await res.text()}`);
        else await res.text();
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(client));
    return { decisions: wg.controller.decisions('tiny'), failures };
  } finally {
    await wg.close();
  }
}

describe('capacity per instance measured at the TTFT SLO, live', { timeout: 120_000 }, () => {
  it('scales out when first tokens come later than the SLO, not when they come within it', async () => {
    // An SLO no instance can meet over HTTP (1 ms): each breach bounds capacity to about one request.
    const tight = await underLoad(1, 4000);
    assert.deepEqual(tight.failures, []);
    const bound = tight.decisions.filter((d) =>
      /capacity \d+\.\d per instance at the TTFT SLO/.test(d.reason),
    );
    assert.ok(
      bound.length > 0,
      `a decision sized by the measured capacity: ${JSON.stringify(tight.decisions.slice(-5))}`,
    );
    assert.ok(
      bound.some((d) => d.desired >= 2),
      `more instances than the batch size alone asks for: ${JSON.stringify(bound.slice(-5))}`,
    );
    // The same load with an SLO every first token meets: one instance's 32 slots are enough.
    const loose = await underLoad(600_000, 4000);
    assert.deepEqual(loose.failures, []);
    assert.ok(loose.decisions.length > 0);
    assert.ok(
      loose.decisions.every((d) => !/per instance at the TTFT SLO/.test(d.reason) && d.desired === 1),
      `one instance throughout: ${JSON.stringify(loose.decisions.filter((d) => d.desired !== 1).slice(0, 5))}`,
    );
  });
});
