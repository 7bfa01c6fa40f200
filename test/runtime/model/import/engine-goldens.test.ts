// Imported checkpoints through the whole engine: each fixture of test/fixtures/hf, imported with
// `warmgate import`'s code (weights stored as float32, and as float16), serves its golden prompts in one busy run (chunked prefill, the same prompts
// again later for prefix hits, filler requests, a pool small enough to preempt) and must give exactly the
// greedy tokens Hugging Face transformers gave, each with the logprob transformers' logits give it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Engine, type EngineConfig } from '../../../../runtime/engine/index.ts';
import { importModel } from '../../../../runtime/model/import/index.ts';
import { type LoadedModel, loadModel } from '../../../../runtime/model/index.ts';
import {
  type Collected,
  collect,
  greedyParams,
  kvBytesFor,
  mustSubmit,
} from '../../../support/engine-harness.ts';
import {
  HF_FAMILIES,
  HF_FIXTURES,
  type HfGolden,
  logSoftmaxAt,
  readHfGolden,
} from '../../../support/hf-golden.ts';
import { TEST_KV, testLoadOptions, testBlockSize, testPoolBlocks } from '../../../support/test-device.ts';

const BLOCK_SIZE = testBlockSize(4);
const CHUNK = 5;
const POOL_BLOCKS = testPoolBlocks(20, 4);

/**
 * Bounds on |logprob - transformers' log-softmax| per stored dtype. float32 is the engine's own error;
 * float16 rounds every weight (measured at most 2.2e-3 over the five fixtures, bf16 llama3 exactly 8e-7,
 * since bf16 values convert to float16 exactly); greedy tokens are identical at both.
 */
const LOGPROB_TOL = { float32: 1e-4, float16: 4e-3 } as const;
/** A float16 KV pool (device-fp16) adds its own rounding of every cached key and value. */
const tolerance = (dtype: keyof typeof LOGPROB_TOL) =>
  TEST_KV === 'float16' ? Math.max(LOGPROB_TOL[dtype], 2e-3) : LOGPROB_TOL[dtype];
for (const [family, DTYPE] of HF_FAMILIES.flatMap((f) =>
  (['float32', 'float16'] as const).map((d) => [f, d] as const),
)) {
  describe(
    `imported ${family} (${DTYPE}): the engine gives transformers' greedy tokens`,
    { timeout: 180_000 },
    () => {
      let tmp: string;
      let model: LoadedModel;
      let golden: HfGolden;

      before(async () => {
        tmp = await mkdtemp(join(tmpdir(), `wg-import-${family}-`));
        await importModel(join(HF_FIXTURES, family), join(tmp, 'model'), { dtype: DTYPE });
        model = await loadModel(join(tmp, 'model'), testLoadOptions({ intraOpThreads: 1 }));
        golden = readHfGolden(family);
      });
      after(async () => {
        await model?.release();
        await rm(tmp, { recursive: true, force: true });
      });

      it('batched with fillers, chunked, with prefix hits and preemption', async (t) => {
        const config: Partial<EngineConfig> = {
          kvCacheBytes: kvBytesFor(model, BLOCK_SIZE, POOL_BLOCKS),
          blockSize: BLOCK_SIZE,
          maxPrefillChunk: CHUNK,
          maxBatchedTokens: 16,
          maxRunningSeqs: 8,
          intraOpThreads: 1,
        };
        const prompts = golden.prompts;
        const steps = prompts[0]!.greedy.length;
        // Golden continuations contain no eos id: generation runs its full length without ignoreEos.
        const params = greedyParams(steps, { ignoreEos: false, logprobs: 1 });
        const results: { prompt: number; run: Promise<Collected> }[] = [];
        let step = 0;
        const submitAll = (e: Engine) => {
          prompts.forEach((p, i) => {
            results.push({
              prompt: i,
              run: collect(mustSubmit(e, { prompt: [...p.ids], params }).events, 1),
            });
          });
        };
        const engine = new Engine(model, config, {
          onStep: (e) => {
            e.checkInvariants();
            // The same prompts again once the first ones' prefixes are cached: these start from cached blocks.
            if (++step === 12) submitAll(e);
          },
        });
        submitAll(engine);
        // Fillers: other text competing for the pool (their tokens are not checked).
        const fillers = [7, 19, 33].map((n) =>
          collect(
            mustSubmit(engine, { prompt: prompts[2]!.ids.map((id) => (id + n) % golden.vocab), params })
              .events,
            1,
          ),
        );
        await engine.idle();
        await Promise.all(fillers);
        const stats = engine.stats();
        t.diagnostic(
          `steps ${stats.steps}, preemptions ${stats.preemptions}, prefix hit rate ${stats.prefixHitRate.toFixed(3)}`,
        );
        assert.equal(results.length, prompts.length * 2, 'the second wave joined');
        assert.ok(stats.preemptions > 0, 'the pool was small enough to preempt');
        assert.ok(stats.prefixHitRate > 0, 'the second wave hit the cache');
        assert.equal(stats.kvFreeBlocks, stats.kvTotalBlocks, 'every block freed');
        let worst = 0;
        for (const r of results) {
          const p = prompts[r.prompt]!;
          const got = await r.run;
          assert.deepEqual(got.tokens[0], [...p.greedy], `prompt ${r.prompt}: greedy tokens`);
          assert.equal(got.finishes[0]!.reason, 'length');
          const V = golden.vocab;
          got.logprobs[0]!.forEach((lp, i) => {
            const row =
              i === 0
                ? p.prefill.subarray((p.ids.length - 1) * V, p.ids.length * V)
                : p.decode.subarray((i - 1) * V, i * V);
            const want = logSoftmaxAt(row, p.greedy[i]!);
            worst = Math.max(worst, Math.abs(lp - want));
            assert.ok(
              Math.abs(lp - want) <= tolerance(DTYPE),
              `prompt ${r.prompt} token ${i}: logprob ${lp}, transformers ${want}`,
            );
          });
        }
        t.diagnostic(`worst logprob difference ${worst.toExponential(2)}`);
      });
    },
  );
}
