// The adapter slot stacks the device runner holds (device contract, on the CPU provider, where the held
// tensors are readable): after every slot write, an eviction included, they equal the host arrays laid out
// as graph/lora-slot-mask.ts states (computed here element by element from that statement), and only the
// written slot's rows are sent; when the device cannot hold them, the step is fed the same layout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type ort from 'onnxruntime-node';
import { AdapterMemory, loadPeftAdapter } from '../../../runtime/adapters/index.ts';
import { DeviceAdapterStacks } from '../../../runtime/engine/runner/device-adapter-stacks.ts';
import { resolveArchitecture } from '../../../runtime/model/architecture.ts';
import {
  type DeviceLoraStack,
  deviceLoraStacks,
  loraStackIndex,
} from '../../../runtime/model/graph/index.ts';
import { type LoadedModel, loadModel, type LoraStackSessions } from '../../../runtime/model/index.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { LORA_ADAPTERS, LORA_SPEC, loraDir } from '../../support/lora-fixtures.ts';

describe('adapter slot stacks held on the device (cpu provider, device KV)', { timeout: 120_000 }, () => {
  let folder: { dir: string; remove(): Promise<void> };
  let model: LoadedModel;
  let memory: AdapterMemory;
  let layout: DeviceLoraStack[];
  before(async () => {
    folder = await tempHfModelFolder('llama');
    model = await loadModel(folder.dir, { intraOpThreads: 1, deviceKv: 'float32', adapters: LORA_SPEC });
    const arch = resolveArchitecture(model.manifest.architecture);
    memory = new AdapterMemory(arch, LORA_SPEC);
    layout = deviceLoraStacks(arch, LORA_SPEC);
    for (const name of LORA_ADAPTERS)
      assert.ok(memory.register(name, await loadPeftAdapter(loraDir(name), arch, LORA_SPEC)));
    // The r4 fixture's weights under a third id: a third adapter over two slots evicts one.
    assert.ok(memory.register('third', await loadPeftAdapter(loraDir(LORA_ADAPTERS[0]), arch, LORA_SPEC)));
  });
  after(async () => {
    await model?.release();
    await folder?.remove();
  });

  /**
   * A device stack from the host arrays, as lora-slot-mask.ts states it: an A's element (row, c) with
   * row = (k*S + s)*R + r is target k's slot s's A[c][r]; a B's row s*R + r is slot s's B row r.
   */
  const expected = (stack: DeviceLoraStack): Float32Array => {
    const { slots: S, maxRank: R } = memory.stacks;
    const [rows, cols] = stack.shape;
    const out = new Float32Array(rows * cols);
    for (let row = 0; row < rows; row++) {
      const k = Math.floor(row / (S * R));
      const s = Math.floor(row / R) % S;
      const r = row % R;
      const host = memory.stacks.stacks.find((t) => t.target === stack.targets[k])!;
      const slab = stack.layer * S + s;
      for (let c = 0; c < cols; c++)
        out[row * cols + c] =
          stack.kind === 'a' ? host.a[(slab * cols + c) * R + r]! : host.b[(slab * R + r) * cols + c]!;
    }
    return out;
  };

  /** Binds the stacks as a step would and checks every one against the host arrays. */
  const expectHeld = async (held: DeviceAdapterStacks, what: string) => {
    const feeds: Record<string, ort.Tensor> = {};
    await held.bind(feeds);
    for (const stack of layout) {
      assert.deepEqual(feeds[stack.name]!.dims, stack.shape, `${what}: ${stack.name}'s shape`);
      assert.deepEqual(feeds[stack.name]!.data, expected(stack), `${what}: ${stack.name}`);
    }
  };

  it('equal the host stacks after each slot write, an eviction included', async () => {
    const sessions = model.device?.loraStacks;
    assert.ok(sessions, model.device?.loraStacksUnavailable);
    // Rows sent up by each write, over every stack: one slot's, never the whole stack.
    const sent: number[] = [];
    const counting: LoraStackSessions = {
      init: sessions.init,
      write: {
        run: (feeds: Record<string, ort.Tensor>, fetches: Record<string, null>) => {
          sent.push(layout.reduce((n, st) => n + feeds[loraStackIndex(st.name)]!.dims[0]!, 0));
          return sessions.write.run(feeds, fetches);
        },
      } as unknown as ort.InferenceSession,
    };
    // One slot's rows: R per target per layer, in its group's A and in its B.
    const oneSlot = 2 * LORA_SPEC.maxRank * LORA_SPEC.targets.length * model.manifest.architecture.n_layer;
    const held = new DeviceAdapterStacks(memory.stacks, layout, counting);
    await expectHeld(held, 'zeroed');
    await expectHeld(held, 'no write since');
    assert.deepEqual(sent, [], 'nothing written, nothing sent');
    const [r4, r8] = LORA_ADAPTERS;
    const slotR4 = memory.acquire(r4)!;
    await expectHeld(held, 'first adapter');
    const slotR8 = memory.acquire(r8)!;
    await expectHeld(held, 'second adapter');
    assert.deepEqual(sent, [oneSlot, oneSlot], "each write sent its slot's rows of every layer");
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
    assert.deepEqual(sent, [oneSlot, oneSlot, oneSlot, oneSlot]);
  });

  it('feed the host arrays, laid out the same, when the device cannot hold them', async () => {
    const failing = {
      init: { run: () => Promise.reject(new Error('buffer too large')) },
      write: { run: () => Promise.reject(new Error('buffer too large')) },
    } as unknown as LoraStackSessions;
    for (const held of [
      new DeviceAdapterStacks(memory.stacks, layout, failing),
      new DeviceAdapterStacks(memory.stacks, layout, undefined, 'the sessions did not open'),
    ]) {
      await expectHeld(held, 'fallback');
      assert.equal(held.location, 'host');
      assert.match(held.fallback!, /buffer too large|did not open/);
      // A slot written after: the next step's feeds have it.
      memory.acquire(LORA_ADAPTERS[1]);
      await expectHeld(held, 'fallback after a write');
      memory.release(LORA_ADAPTERS[1]);
    }
  });
});
