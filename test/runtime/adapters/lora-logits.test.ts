// The adapter step graph against the goldens transformers + peft computed for the merged models: one
// step mixes tokens of the base model and of both fixture adapters, each sequence fed a token a step (its
// prompt, then its golden continuation), and every logits row must be the merged model's within 1e-4
// relative (fp32). Runs the runner directly, so every position's row is checked, prefill and decode.
// Under WARMGATE_TEST_KV=device (or device-fp16) the same over the device-resident KV contract, whose
// runner holds the slot stacks as device tensors (on the CPU provider: the same code, host memory).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdapterMemory, loadPeftAdapter } from '../../../runtime/adapters/index.ts';
import { KVCacheManager } from '../../../runtime/engine/kv/index.ts';
import { DeviceKVPool } from '../../../runtime/engine/runner/device-kv-pool.ts';
import { DeviceModelRunner } from '../../../runtime/engine/runner/device-model-runner.ts';
import { KVStore } from '../../../runtime/engine/runner/kv-store.ts';
import { ModelRunner } from '../../../runtime/engine/runner/model-runner.ts';
import type { StepEntry } from '../../../runtime/engine/runner/step-inputs.ts';
import { resolveArchitecture } from '../../../runtime/model/architecture.ts';
import { type LoadedModel, loadModel } from '../../../runtime/model/index.ts';
import { type HfGolden, readHfGolden } from '../../support/hf-golden.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { LORA_ADAPTERS, LORA_SPEC, loraDir, loraGolden, rowRelError } from '../../support/lora-fixtures.ts';
import { TEST_DEVICE, TEST_KV, testLoadOptions, testBlockSize } from '../../support/test-device.ts';

/** fp32 pools: the engine's own error; a float16 pool rounds every cached key and value. */
const REL_TOL = TEST_KV === 'float16' ? 1e-3 : 1e-4;
const BLOCK_SIZE = testBlockSize(4);

interface Lane {
  readonly id: string;
  readonly slot: number;
  readonly golden: HfGolden;
  readonly prompt: number;
}

describe(`LoRA step graph: logits of the merged models (${TEST_DEVICE})`, { timeout: 180_000 }, () => {
  let folder: { dir: string; remove(): Promise<void> };
  let model: LoadedModel;
  before(async () => {
    folder = await tempHfModelFolder('llama');
    model = await loadModel(folder.dir, testLoadOptions({ intraOpThreads: 1, adapters: LORA_SPEC }));
  });
  after(async () => {
    await model?.release();
    await folder?.remove();
  });

  it('base, lora-r4-qv and lora-r8-all tokens in the same steps', async (t) => {
    const arch = resolveArchitecture(model.manifest.architecture);
    const memory = new AdapterMemory(arch, LORA_SPEC);
    const slots: number[] = [];
    for (const name of LORA_ADAPTERS) {
      assert.ok(memory.register(name, await loadPeftAdapter(loraDir(name), arch, LORA_SPEC)));
      slots.push(memory.acquire(name)!);
    }
    const shape = { blockSize: BLOCK_SIZE, tileBlocks: 2 };
    const arch0 = model.manifest.architecture;
    const kv = new KVCacheManager({
      numBlocks: 1024,
      blockSize: BLOCK_SIZE,
      modelId: 'm',
      enablePrefixCaching: false,
      tileBlocks: 2,
    });
    const runner = model.device
      ? new DeviceModelRunner(model, new DeviceKVPool(arch0, shape, 1024, model.device), { adapters: memory })
      : new ModelRunner(model, new KVStore(arch0, shape, 1024), { adapters: memory });
    const base = readHfGolden('llama');
    // Every prompt under every adapter and the base model, all in flight together.
    const lanes: Lane[] = [];
    base.prompts.forEach((_, p) => {
      lanes.push({ id: `base-${p}`, slot: 0, golden: base, prompt: p });
      LORA_ADAPTERS.forEach((name, i) =>
        lanes.push({ id: `${name}-${p}`, slot: slots[i]!, golden: loraGolden(name), prompt: p }),
      );
    });
    const tokens = lanes.map((l) => {
      const g = l.golden.prompts[l.prompt]!;
      return [...g.ids, ...g.greedy];
    });
    let worst = 0;
    let rows = 0;
    const longest = Math.max(...tokens.map((t) => t.length));
    for (let pos = 0; pos < longest; pos++) {
      const active = lanes.map((_, i) => i).filter((i) => pos < tokens[i]!.length);
      const entries: StepEntry[] = active.map((i) => {
        assert.ok(kv.allocateSlots(lanes[i]!.id, pos + 1));
        return {
          tokens: tokens[i]!,
          numComputed: pos,
          numNew: 1,
          blockTable: kv.blockTable(lanes[i]!.id),
          samples: true,
          adapterSlot: lanes[i]!.slot,
        };
      });
      const out = await runner.step(entries, []);
      active.forEach((i, e) => {
        kv.commitComputed(lanes[i]!.id, tokens[i]!, pos + 1);
        const g = lanes[i]!.golden.prompts[lanes[i]!.prompt]!;
        const V = lanes[i]!.golden.vocab;
        const want = pos < g.ids.length ? g.prefill : g.decode;
        const r = pos < g.ids.length ? pos : pos - g.ids.length;
        const row = out.logitsRow[e]!;
        const got = out.logits.subarray(row * V, (row + 1) * V);
        const err = rowRelError(got, want.subarray(r * V, (r + 1) * V));
        assert.ok(err <= REL_TOL, `${lanes[i]!.id} position ${pos}: relative error ${err}`);
        worst = Math.max(worst, err);
        rows++;
      });
    }
    assert.ok(rows > 200, `${rows} rows checked`);
    if (runner instanceof DeviceModelRunner)
      assert.equal(runner.adapterStacks?.location, 'device', runner.adapterStacks?.fallback);
    t.diagnostic(`${rows} logits rows, worst relative error ${worst.toExponential(2)}`);
  });
});
