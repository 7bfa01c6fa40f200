// Requests under LoRA adapters through the whole engine (CPU, host KV): chunked prefill and decode, mixed
// with the base model and each other in the same steps, against the goldens of the merged models; prefix
// blocks shared under the same adapter only; more adapters than slots, loaded and evicted while running.
// Under WARMGATE_TEST_KV=device (or device-fp16) the same over the device-resident KV contract, the slot
// stacks held as device tensors and rewritten there when an adapter takes a slot.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdapterMemory } from '../../../runtime/adapters/index.ts';
import { Engine, type EngineConfig } from '../../../runtime/engine/index.ts';
import { adapterFeeds } from '../../../runtime/engine/runner/adapter-feeds.ts';
import { resolveArchitecture } from '../../../runtime/model/architecture.ts';
import { ADAPTER_ANY_INPUT } from '../../../runtime/model/graph/index.ts';
import { type LoadedModel, loadModel } from '../../../runtime/model/index.ts';
import { collect, greedyParams, kvBytesFor, mustSubmit } from '../../support/engine-harness.ts';
import { type HfGolden, logSoftmaxAt, readHfGolden } from '../../support/hf-golden.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import {
  LORA_ADAPTERS,
  LORA_SPEC,
  type LoraFixture,
  loraDir,
  loraGolden,
} from '../../support/lora-fixtures.ts';
import {
  TEST_DEVICE,
  TEST_KV,
  testLoadOptions,
  testBlockSize,
  testPoolBlocks,
} from '../../support/test-device.ts';

const BLOCK_SIZE = testBlockSize(4);
/** fp32 pools: the engine's own error; a float16 pool rounds every cached key and value. */
const LOGPROB_TOL = TEST_KV === 'float16' ? 2e-3 : 1e-4;

const config = (model: LoadedModel): Partial<EngineConfig> => ({
  kvCacheBytes: kvBytesFor(model, BLOCK_SIZE, testPoolBlocks(256, 4)),
  blockSize: BLOCK_SIZE,
  maxPrefillChunk: 5,
  maxBatchedTokens: 16,
  intraOpThreads: 1,
});

interface Run {
  readonly golden: HfGolden;
  readonly prompt: number;
  readonly adapter: string | undefined;
}

/** Submits every run at once and checks each against its golden: greedy tokens, logprobs within 1e-4. */
async function checkRuns(engine: Engine, runs: readonly Run[]): Promise<void> {
  const pending = runs.map((r) => {
    const g = r.golden.prompts[r.prompt]!;
    const params = greedyParams(g.greedy.length, { ignoreEos: false, logprobs: 1 });
    const req = { prompt: [...g.ids], params, ...(r.adapter !== undefined && { adapter: r.adapter }) };
    return collect(mustSubmit(engine, req).events, 1);
  });
  for (const [i, r] of runs.entries()) {
    const got = await pending[i]!;
    const g = r.golden.prompts[r.prompt]!;
    const who = `${r.adapter ?? 'base'} prompt ${r.prompt}`;
    assert.deepEqual(got.tokens[0], [...g.greedy], `${who}: greedy tokens`);
    got.logprobs[0]!.forEach((lp, k) => {
      const V = r.golden.vocab;
      const row =
        k === 0
          ? g.prefill.subarray((g.ids.length - 1) * V, g.ids.length * V)
          : g.decode.subarray((k - 1) * V, k * V);
      const want = logSoftmaxAt(row, g.greedy[k]!);
      assert.ok(Math.abs(lp - want) <= LOGPROB_TOL, `${who} token ${k}: logprob ${lp}, merged model ${want}`);
    });
  }
  await engine.idle();
}

describe(`LoRA adapters through the engine (${TEST_DEVICE})`, { timeout: 300_000 }, () => {
  let folder: { dir: string; remove(): Promise<void> };
  let model: LoadedModel;
  let copies: string;
  const base = readHfGolden('llama');
  const golden = (name: LoraFixture) => loraGolden(name);
  before(async () => {
    folder = await tempHfModelFolder('llama');
    model = await loadModel(folder.dir, testLoadOptions({ intraOpThreads: 1, adapters: LORA_SPEC }));
    copies = await mkdtemp(join(tmpdir(), 'wg-lora-copies-'));
  });
  after(async () => {
    await model?.release();
    await folder?.remove();
    await rm(copies, { recursive: true, force: true });
  });

  it("each adapter alone gives its merged model's greedy tokens and logprobs", async () => {
    for (const name of LORA_ADAPTERS) {
      const engine = new Engine(model, config(model), { onStep: (e) => e.checkInvariants() });
      await engine.loadAdapter(name, loraDir(name));
      await checkRuns(
        engine,
        golden(name).prompts.map((_, p) => ({ golden: golden(name), prompt: p, adapter: name })),
      );
    }
  });

  it("base-model requests alone (steps that skip the adapter nodes) give the base model's tokens and logprobs", async () => {
    const engine = new Engine(model, config(model), { onStep: (e) => e.checkInvariants() });
    for (const name of LORA_ADAPTERS) await engine.loadAdapter(name, loraDir(name)); // loaded, not used
    await checkRuns(
      engine,
      base.prompts.map((_, p) => ({ golden: base, prompt: p, adapter: undefined })),
    );
    // Those steps were fed adapter_any false (the branch without adapter nodes); a step with one adapter
    // token among base ones, true.
    const feeds = adapterFeeds(
      new AdapterMemory(resolveArchitecture(model.manifest.architecture), LORA_SPEC),
    );
    const entry = (adapterSlot: number) => ({
      tokens: [1, 2],
      numComputed: 0,
      numNew: 2,
      blockTable: [0],
      samples: true,
      adapterSlot,
    });
    const any = (slots: number[]) => feeds(slots.map(entry), slots.length * 2)[ADAPTER_ANY_INPUT]!.data[0];
    assert.deepEqual([any([0, 0]), any([0, 3, 0]), any([2])], [0, 1, 1]);
  });

  it('one batch mixes both adapters and the base model', async () => {
    const engine = new Engine(model, config(model), { onStep: (e) => e.checkInvariants() });
    for (const name of LORA_ADAPTERS) await engine.loadAdapter(name, loraDir(name));
    const runs: Run[] = [];
    base.prompts.forEach((_, p) => {
      runs.push({ golden: base, prompt: p, adapter: undefined });
      for (const name of LORA_ADAPTERS) runs.push({ golden: golden(name), prompt: p, adapter: name });
    });
    await checkRuns(engine, runs);
    assert.equal(engine.stats().kvFreeBlocks, engine.stats().kvTotalBlocks, 'every block freed');
  });

  it('the same prompt shares prefix blocks under the same adapter, never across adapters', async () => {
    const engine = new Engine(model, config(model));
    for (const name of LORA_ADAPTERS) await engine.loadAdapter(name, loraDir(name));
    const name = LORA_ADAPTERS[1];
    // The longest prompt: two full blocks or more (a hit shares whole blocks; the last token is computed).
    const lengths = base.prompts.map((x) => x.ids.length);
    const p = lengths.indexOf(Math.max(...lengths));
    assert.ok(lengths[p]! > 2 * BLOCK_SIZE, 'a prompt of several blocks');
    const hitsAfter = async (run: Run) => {
      await checkRuns(engine, [run]);
      return engine.stats().prefixHitRate;
    };
    // First under adapter A, then under B and the base: neither may hit A's blocks.
    assert.equal(
      await hitsAfter({ golden: golden(LORA_ADAPTERS[0]), prompt: p, adapter: LORA_ADAPTERS[0] }),
      0,
    );
    assert.equal(
      await hitsAfter({ golden: golden(name), prompt: p, adapter: name }),
      0,
      'no hit across adapters',
    );
    assert.equal(
      await hitsAfter({ golden: base, prompt: p, adapter: undefined }),
      0,
      'no hit from the base model',
    );
    // Under B again: hits B's blocks (and still gives B's tokens).
    assert.ok(
      (await hitsAfter({ golden: golden(name), prompt: p, adapter: name })) > 0,
      'hit under the same adapter',
    );
  });

  it('more adapters than slots: loaded and evicted at run time, results stay right', async () => {
    // Six adapters (copies of the two fixtures under other ids) over 2 slots, in pairs of one fixture
    // (r4, r4, r8, r8, r4, r4), so a slot's next adapter has other weights than its last: stale slot
    // weights (a slot write that did not reach the step) show in the tokens.
    const engine = new Engine(model, config(model), { onStep: (e) => e.checkInvariants() });
    const ids: { id: string; fixture: LoraFixture }[] = [];
    for (let i = 0; i < 6; i++) {
      const fixture = LORA_ADAPTERS[Math.floor(i / 2) % 2]!;
      const dir = join(copies, `copy-${i}`);
      await cp(loraDir(fixture), dir, { recursive: true });
      await engine.loadAdapter(`a${i}`, dir);
      ids.push({ id: `a${i}`, fixture });
    }
    const runs: Run[] = [];
    for (let wave = 0; wave < 2; wave++)
      for (const { id, fixture } of ids) runs.push({ golden: golden(fixture), prompt: wave, adapter: id });
    runs.push({ golden: base, prompt: 0, adapter: undefined });
    await checkRuns(engine, runs);
    const s = engine.adapterStats()!;
    assert.equal(s.slots, LORA_SPEC.slots - 1);
    assert.ok(s.loaded <= s.slots);
    assert.ok(s.evictions > 0, `adapters were evicted (${s.loads} loads, ${s.evictions} evictions)`);
    assert.equal(s.stacks, TEST_KV ? 'device' : 'host', s.stacksFallback);
    assert.equal(engine.stats().kvFreeBlocks, engine.stats().kvTotalBlocks, 'every block freed');
    assert.ok(engine.unloadAdapter('a0'), 'an adapter no request uses unloads');
  });

  it('refuses an adapter that is not loaded with adapter_not_found', async () => {
    const engine = new Engine(model, config(model));
    const r = engine.submit({ prompt: [1, 2, 3], params: greedyParams(2), adapter: 'nope' });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'adapter_not_found');
  });
});
