// Adapters under the warm-pool controller, in one process with real instance processes of the imported
// llama fixture: adapters get no pool of their own, and the controller preloads the adapters called lately on every ready instance of the base, so the next
// request for one finds it loaded wherever it is routed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningWarmgate, startWarmgate } from '../../warmpool/platform.ts';
import { tempHfModelFolder } from '../support/hf-model-folder.ts';
import { loraDir, loraGolden } from '../support/lora-fixtures.ts';
import { eventually } from '../e2e/observe.ts';

const BASE = 'llama';

describe('adapters under the controller (real instances)', { timeout: 240_000 }, () => {
  let wg: RunningWarmgate;
  let model: { dir: string; remove(): Promise<void> };

  before(async () => {
    model = await tempHfModelFolder('llama');
    wg = await startWarmgate({
      port: 0,
      tickMs: 250,
      deployments: [
        {
          name: BASE,
          kind: 'generative',
          model: { path: model.dir },
          scaling: { minInstances: 2, maxInstances: 2, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
          runtime: { adapters: { slots: 2, maxRank: 8 } },
        },
        {
          name: 'llama-qv',
          kind: 'adapter',
          base: BASE,
          model: { path: loraDir('lora-r4-qv') },
          scaling: { minInstances: 0, maxInstances: 4, warmBuffer: 0, keepAliveMs: 60_000, ttftSloMs: 1000 },
        },
      ],
    });
  });
  after(async () => {
    await wg?.close();
    await model?.remove();
  });

  const instancesOf = () =>
    wg.controller
      .status()
      .find((s) => s.deployment === BASE)!
      .instances.filter((i) => i.state === 'ready-idle' || i.state === 'serving');
  const held = async (url: string) =>
    ((await (await fetch(`${url}/adapters`)).json()) as { adapters: string[] }).adapters;

  it('preloads an adapter called lately on every ready instance of its base', async () => {
    await eventually(
      'two ready instances of the base',
      async () => instancesOf().length,
      (n) => n === 2,
      120_000,
    );
    for (const i of instancesOf()) assert.deepEqual(await held(i.url!), [], 'nothing loaded before any call');
    const prompt = loraGolden('lora-r4-qv').prompts[0]!;
    const res = await fetch(`${wg.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-qv', prompt: prompt.text, max_tokens: 2, temperature: 0 }),
    });
    assert.equal(res.status, 200, await res.text());
    // One instance loaded it for the request; the controller then asks the other to load it ahead.
    await eventually(
      'both instances hold the adapter',
      () => Promise.all(instancesOf().map((i) => held(i.url!))),
      (all) => all.length === 2 && all.every((a) => a.length === 1 && a[0]!.startsWith('llama-qv@')),
      30_000,
    );
    assert.equal(wg.controller.pool('llama-qv'), undefined, 'an adapter has no pool of its own');
  });
});
