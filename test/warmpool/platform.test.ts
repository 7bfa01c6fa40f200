// The platform in one process (gateway + warm-pool controller + local provider), real instance processes:
// a deployment at zero instances takes requests, which wait while the controller brings one up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { deployment } from '../support/platform.ts';

const complete = (url: string, prompt: string) =>
  fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', prompt, max_tokens: 8, temperature: 0 }),
  });

describe('warmgate platform: scale from zero', { timeout: 60_000 }, () => {
  let wg: RunningWarmgate;
  before(async () => {
    wg = await startWarmgate({
      port: 0,
      tickMs: 5_000, // long on purpose: only the waiting requests' kick can explain a prompt scale-up
      deployments: [
        deployment('tiny', 'generative', 'tiny', {
          scaling: { minInstances: 0, maxInstances: 2, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
        }),
      ],
    });
  });
  after(async () => wg?.close());

  it('queued requests at zero are all served once the controller brings an instance up', async () => {
    assert.equal(wg.gateway.gateway.registry.routable('tiny').length, 0, 'starts at zero');
    const prompts = Array.from({ length: 8 }, (_, i) => `request number ${i}`);
    const answers = await Promise.all(prompts.map((p) => complete(wg.url, p)));
    for (const res of answers) assert.equal(res.status, 200, await res.clone().text());
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { choices: { text: string }[] }[];
    assert.ok(bodies.every((b) => b.choices[0]!.text.length > 0));
    const decisions = wg.controller.decisions('tiny');
    assert.ok(
      decisions.some((d) => d.desired >= 1 && (d.demand?.queued ?? 0) > 0),
      `a decision to scale up for queued requests: ${JSON.stringify(decisions)}`,
    );
    const first = decisions[0]!;
    const up = decisions.find((d) => (d.demand?.queued ?? 0) > 0)!;
    assert.ok(up.at - first.at < 5_000, 'the scale-up came from the kick, before the next scheduled tick');
    const status = wg.controller.status().find((s) => s.deployment === 'tiny')!;
    const ready = status.instances.filter((i) => i.state === 'ready-idle' || i.state === 'serving');
    assert.ok(ready.length >= 1 && ready.length <= 2, JSON.stringify(status));
    assert.ok(
      ready.every((i) => typeof i.coldStartMs === 'number' && i.coldStartMs > 0),
      'cold start measured',
    );
  });
});

describe('warmgate platform: scale down under steady traffic', { timeout: 60_000 }, () => {
  let wg: RunningWarmgate;
  const two = { minInstances: 2, maxInstances: 2, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 };
  before(async () => {
    wg = await startWarmgate({
      port: 0,
      tickMs: 100,
      deployments: [deployment('tiny', 'generative', 'tiny', { scaling: two })],
    });
  });
  after(async () => wg?.close());

  it('drains an instance away while clients keep sending: no request fails', async () => {
    const registry = wg.gateway.gateway.registry;
    const end = Date.now() + 30_000;
    while (registry.routable('tiny').length < 2) {
      assert.ok(Date.now() < end, 'two instances ready within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    let stop = false;
    const failures: string[] = [];
    let served = 0;
    const client = async (k: number) => {
      for (let i = 0; !stop; i++) {
        const res = await complete(wg.url, `client ${k} request ${i}`);
        if (res.status === 200) served++;
        else failures.push(`${res.status} ${await res.text()}`);
        await res.body?.cancel().catch(() => {});
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await new Promise((r) => setTimeout(r, 500));
    const before = served;
    await wg.gateway.deployments.put(
      deployment('tiny', 'generative', 'tiny', { scaling: { ...two, minInstances: 1, maxInstances: 1 } }),
    );
    const status = () => wg.controller.status().find((s) => s.deployment === 'tiny')!;
    while (status().instances.filter((i) => i.state !== 'stopped').length > 1) {
      assert.ok(Date.now() < end, `scaled down to 1 within 30 s: ${JSON.stringify(status())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300)); // traffic goes on after the drain
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, [], 'no request failed');
    assert.ok(served > before, 'requests were served during the scale-down');
    assert.equal(registry.routable('tiny').length, 1);
  });
});
