// The adapter slot stacks the device runner holds (device contract, on the CPU provider, where the held
// tensors are readable): after every slot write, an eviction included, they equal the host arrays, and only
// the written slot's rows are sent; when the device cannot hold them, the step is fed the host arrays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type ort from 'onnxruntime-node';
import { AdapterMemory, loadPeftAdapter } from '../../../runtime/adapters/index.ts';
import { DeviceAdapterStacks } from '../../../runtime/engine/runner/device-adapter-stacks.ts';
import { resolveArchitecture } from '../../../runtime/model/architecture.ts';
import { LORA_WRITE_ROWS, loraStackNames } from '../../../runtime/model/graph/index.ts';
import { type LoadedModel, loadModel, type LoraStackSessions } from '../../../runtime/model/index.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { LORA_ADAPTERS, LORA_SPEC, loraDir } from '../../support/lora-fixtures.ts';

describe('adapter slot stacks held on the device (cpu provider, device KV)', { timeout: 120_000 }, () => {
  let folder: { dir: string; remove(): Promise<void> };
  let model: LoadedModel;
  let memory: AdapterMemory;
  before(async () => {
    folder = await tempHfModelFolder('llama');
    model = await loadModel(folder.dir, { intraOpThreads: 1, deviceKv: 'float32', adapters: LORA_SPEC });
    const arch = resolveArchitecture(model.manifest.architecture);
    memory = new AdapterMemory(arch, LORA_SPEC);
    for (const name of LORA_ADAPTERS)
      assert.ok(memory.register(name, await loadPeftAdapter(loraDir(name), arch, LORA_SPEC)));
    // The r4 fixture's weights under a third id: a third adapter over two slots evicts one.
    assert.ok(memory.register('third', await loadPeftAdapter(loraDir(LORA_ADAPTERS[0]), arch, LORA_SPEC)));
  });
  after(async () => {
    await model?.release();
    await folder?.remove();
  });

  /** Binds the stacks as a step would and checks every one against the host arrays. */
  const expectHeld = async (held: DeviceAdapterStacks, what: string) => {
    const feeds: Record<string, ort.Tensor> = {};
    await held.bind(feeds);
    for (const s of memory.stacks.stacks) {
      const n = loraStackNames(s.target);
      assert.deepEqual(feeds[n.a]!.data, s.a, `${what}: ${n.a}`);
      assert.deepEqual(feeds[n.b]!.data, s.b, `${what}: ${n.b}`);
      assert.notEqual(feeds[n.a]!.data, s.a, `${what}: ${n.a} is the held copy, not the host array`);
    }
  };

  it('equal the host stacks after each slot write, an eviction included', async () => {
    const sessions = model.device?.loraStacks;
    assert.ok(sessions, model.device?.loraStacksUnavailable);
    // Rows sent up by each write: one slot's layers, never the whole stack.
    const sent: number[] = [];
    const counting: LoraStackSessions = {
      init: sessions.init,
      write: {
        run: (feeds: Record<string, ort.Tensor>, fetches: Record<string, null>) => {
          sent.push(feeds[LORA_WRITE_ROWS]!.dims[0]!);
          return sessions.write.run(feeds, fetches);
        },
      } as unknown as ort.InferenceSession,
    };
    const L = model.manifest.architecture.n_layer;
    const held = new DeviceAdapterStacks(memory.stacks, counting);
    await expectHeld(held, 'zeroed');
    await expectHeld(held, 'no write since');
    assert.deepEqual(sent, [], 'nothing written, nothing sent');
    const [r4, r8] = LORA_ADAPTERS;
    const slotR4 = memory.acquire(r4)!;
    await expectHeld(held, 'first adapter');
    const slotR8 = memory.acquire(r8)!;
    await expectHeld(held, 'second adapter');
    assert.deepEqual(sent, [L, L], "each write sent its slot's rows of every layer");
    memory.release(r4);
    memory.release(r8);
    // r4's slot was released first: the third adapter evicts it.
    assert.equal(memory.acquire('third'), slotR4);
    assert.equal(memory.slotOf(r4), undefined);
    await expectHeld(held, 'after an eviction');
    memory.release('third');
    assert.equal(memory.acquire(r4), slotR8, 'r4 back, into the other slot');
    await expectHeld(held, 'r4 in the slot r8 held');
    memory.release(r4);
    assert.equal(held.location, 'device');
    assert.deepEqual(sent, [L, L, L, L]);
  });

  it('feed the host arrays when the device cannot hold them', async () => {
    const failing = {
      init: { run: () => Promise.reject(new Error('buffer too large')) },
      write: { run: () => Promise.reject(new Error('buffer too large')) },
    } as unknown as LoraStackSessions;
    for (const held of [
      new DeviceAdapterStacks(memory.stacks, failing),
      new DeviceAdapterStacks(memory.stacks, undefined, 'the sessions did not open'),
    ]) {
      const feeds: Record<string, ort.Tensor> = {};
      await held.bind(feeds);
      assert.equal(held.location, 'host');
      assert.match(held.fallback!, /buffer too large|did not open/);
      for (const s of memory.stacks.stacks) {
        const n = loraStackNames(s.target);
        assert.equal(feeds[n.a]!.data, s.a, `${n.a}: the host array itself`);
        assert.equal(feeds[n.b]!.data, s.b, `${n.b}: the host array itself`);
      }
    }
  });
});
