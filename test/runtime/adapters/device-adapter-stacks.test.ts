// The adapter slot stacks the device runner holds (device contract, on the CPU provider, where the held
// tensors are readable): after every slot write, an eviction included, they equal the host arrays laid out
// as graph/lora-grouped.ts states (computed here element by element from that statement: q, k and v's A
// side by side, their B block-diagonal), and only the written slot's rows are sent; when the device cannot
// hold them, the step is fed the same layout from the host arrays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type ort from 'onnxruntime-node';
import { AdapterMemory, loadPeftAdapter } from '../../../runtime/adapters/index.ts';
import { DeviceAdapterStacks } from '../../../runtime/engine/runner/device-adapter-stacks.ts';
import { resolveArchitecture } from '../../../runtime/model/architecture.ts';
import {
  deviceLoraStacks,
  type DeviceLoraStacks,
  LORA_WRITE_ROWS,
  loraTargetDims,
} from '../../../runtime/model/graph/index.ts';
import { type LoadedModel, loadModel, type LoraStackSessions } from '../../../runtime/model/index.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { LORA_ADAPTERS, LORA_SPEC, loraDir } from '../../support/lora-fixtures.ts';

describe('adapter slot stacks held on the device (cpu provider, device KV)', { timeout: 120_000 }, () => {
  let folder: { dir: string; remove(): Promise<void> };
  let model: LoadedModel;
  let memory: AdapterMemory;
  let layout: DeviceLoraStacks[];
  let arch: ReturnType<typeof resolveArchitecture>;
  before(async () => {
    folder = await tempHfModelFolder('llama');
    model = await loadModel(folder.dir, { intraOpThreads: 1, deviceKv: 'float32', adapters: LORA_SPEC });
    arch = resolveArchitecture(model.manifest.architecture);
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
   * A group's stacks from the host arrays, element by element: row w of A is [in, n*R] with target m's
   * A[w][i][r] at (i, m*R + r); row w of B is [n*R, outs] with target m's B[w][r][o] at (m*R + r, m's
   * first column + o), zeros elsewhere.
   */
  const expected = (g: DeviceLoraStacks): { a: Float32Array; b: Float32Array } => {
    const [W, IN, NR] = g.a.shape;
    const OUTS = g.b.shape[2];
    const R = LORA_SPEC.maxRank;
    const a = new Float32Array(W * IN * NR);
    const b = new Float32Array(W * NR * OUTS);
    let first = 0;
    g.targets.forEach((t, m) => {
      const host = memory.stacks.stacks.find((s) => s.target === t)!;
      const OUT = loraTargetDims(arch, t).out;
      for (let w = 0; w < W; w++)
        for (let r = 0; r < R; r++) {
          for (let i = 0; i < IN; i++) a[(w * IN + i) * NR + m * R + r] = host.a[(w * IN + i) * R + r]!;
          for (let o = 0; o < OUT; o++)
            b[(w * NR + m * R + r) * OUTS + first + o] = host.b[(w * R + r) * OUT + o]!;
        }
      first += OUT;
    });
    return { a, b };
  };

  /** Binds the stacks as a step would and checks every one against the host arrays. */
  const expectHeld = async (held: DeviceAdapterStacks, what: string) => {
    const feeds: Record<string, ort.Tensor> = {};
    await held.bind(feeds);
    for (const g of layout) {
      const want = expected(g);
      assert.deepEqual(feeds[g.a.name]!.dims, g.a.shape, `${what}: ${g.a.name}'s shape`);
      assert.deepEqual(feeds[g.a.name]!.data, want.a, `${what}: ${g.a.name}`);
      assert.deepEqual(feeds[g.b.name]!.data, want.b, `${what}: ${g.b.name}`);
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
    // q, k and v are one group, gate and up another.
    assert.deepEqual(
      layout.map((g) => g.targets),
      [['q_proj', 'k_proj', 'v_proj'], ['o_proj'], ['gate_proj', 'up_proj'], ['down_proj']],
    );
    const held = new DeviceAdapterStacks(memory.stacks, layout, counting);
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
      new DeviceAdapterStacks(memory.stacks, layout, failing),
      new DeviceAdapterStacks(memory.stacks, layout, undefined, 'the sessions did not open'),
    ]) {
      await expectHeld(held, 'fallback');
      assert.equal(held.location, 'host');
      assert.match(held.fallback!, /buffer too large|did not open/);
      const feeds: Record<string, ort.Tensor> = {};
      await held.bind(feeds);
      const o = memory.stacks.stacks.find((s) => s.target === 'o_proj')!;
      assert.equal(feeds.lora_a_o_proj!.data, o.a, 'a group of one: the host array itself');
      // A slot written after: the next step's feeds have it.
      memory.acquire(LORA_ADAPTERS[1]);
      await expectHeld(held, 'fallback after a write');
      memory.release(LORA_ADAPTERS[1]);
    }
  });
});
