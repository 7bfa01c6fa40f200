import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Engine, type EngineConfig } from '../../../runtime/engine/index.ts';
import { type LoadedModel, loadModel } from '../../../runtime/model/index.ts';
import {
  bytes,
  type Collected,
  collect,
  greedyParams,
  kvBytesFor,
  mustSubmit,
  pick,
  prng,
  randInt,
  runAlone,
  TEST_MODEL_DIR,
} from '../../support/engine-harness.ts';
import {
  TEST_KV,
  TEST_HALF_STEP,
  TEST_PAGED,
  testBlockSize,
  testLoadOptions,
  testPoolBlocks,
} from '../../support/test-device.ts';
import { logSoftmaxAt } from '../../support/hf-golden.ts';
import { firstDifference, greedyGap } from '../../support/near-tie.ts';
import { Reference } from '../../support/reference.ts';

// Continuous batching must not change what a request computes: every request of a busy run (chunked
// prefill, prefix hits and preemption all happening) gets exactly the tokens it gets alone, and exactly
// what full recompute through reference.onnx gives.

const NUM_REQUESTS = 220;
const FIRST_WAVE = 60;
const BLOCK_SIZE = testBlockSize(8);
const CHUNK = 16;
const POOL_BLOCKS = testPoolBlocks(28, 8);
// A float16 KV pool (test:gpu's device-fp16) rounds each key and value to 11 significant bits, so a last
// bit of difference in how a batch computed a key moves a logprob; PagedAttention (the demo model under
// test:gpu) also attends in float16, with other kernels for a prefill chunk than for a decode, and a
// float16 step (WARMGATE_TEST_COMPUTE) rounds every activation on top. There, batched and alone are each
// held to the float32 reference (reference.onnx, fed the run's own tokens): a run alone within the form's
// bound of it, and batching adding no more than that form's own error (the batched run's worst at most
// twice the alone runs' worst, or the bound's tenth where they are tiny). A bound on batched against
// alone alone, taken from one run's first miss (1e-2, an H200), was broken by the next (1.63e-2, an
// H100: BENCHMARKS.md). fp32 pools agree to rounding: batched against alone within 1e-4.
const LOGPROB_TOL = TEST_HALF_STEP ? 5e-2 : TEST_PAGED ? 1e-2 : TEST_KV === 'float16' ? 5e-3 : 1e-4;
// With float16 attention, two runs of one request may part where two tokens are all but tied
// (near-tie.ts): allowed where the float32 reference sets them within twice the logprob bound, and only
// as often as the form's error makes such ties: one request in twenty with float16 pools (3 of 220 on
// an H100), one in four with the float16 step, whose bound is five times wider (38 of 220 on an H100,
// each at a near-tie: BENCHMARKS.md). What catches a wrong result is every token of every run held to
// the reference below; the count catches a drift that stays under the bound. float32 pools allow none.
const TIES_ALLOWED = TEST_KV === 'float16';
const NEAR_TIE = 2 * LOGPROB_TOL;
const MAX_TIES = !TIES_ALLOWED ? 0 : Math.ceil(NUM_REQUESTS / (TEST_HALF_STEP ? 4 : 20));

/** The float32 reference's logprob of each of `tokens` after the prompt and the tokens before it. */
async function referenceLogprobs(ref: Reference, vocab: number, prompt: number[], tokens: number[]) {
  const logits = await ref.logits([...prompt, ...tokens.slice(0, -1)]);
  return tokens.map((token, k) =>
    logSoftmaxAt(logits.subarray((prompt.length - 1 + k) * vocab, (prompt.length + k) * vocab), token),
  );
}

/** The largest difference seen, and where. */
class Worst {
  d = 0;
  at = '';
  see(d: number, at: () => string): void {
    if (d > this.d) [this.d, this.at] = [d, at()];
  }
  toString(): string {
    return `${this.d.toExponential(2)} (${this.at || 'none'})`;
  }
}

const STEMS = [
  'First Citizen:\nBefore we proceed any further, hear me speak.\nAll:\nSpeak, speak.\nFirst Citizen:\nYou are all',
  'ROMEO:\nBut, soft! what light through yonder window breaks? It is the east, and Juliet is the sun.',
  'To be, or not to be, that is the question: whether tis nobler in the mind to suffer the slings',
  'the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog again!',
];

interface Job {
  readonly prompt: number[];
  readonly maxTokens: number;
  readonly joinAtStep: number;
}

function makeJobs(seed: number): Job[] {
  const rand = prng(seed);
  const jobs: Job[] = [];
  for (let i = 0; i < NUM_REQUESTS; i++) {
    const length = rand() < 0.15 ? randInt(rand, 1, 8) : randInt(rand, 9, 120);
    const stem = bytes(pick(rand, STEMS));
    const letters = () => pick(rand, bytes('abcdefgh '));
    // Mostly a long shared head (prefix hits), then a random tail of lowercase letters and spaces.
    const shared = Math.min(
      length,
      stem.length,
      rand() < 0.7 ? randInt(rand, 16, 100) : randInt(rand, 0, 16),
    );
    let prompt = [...stem.slice(0, shared), ...Array.from({ length: length - shared }, letters)];
    // Some prompts put one block of their own before a stem: the same tokens in the same block positions
    // as cached blocks, after a different first block, so they must not reuse those blocks' KV.
    if (rand() < 0.15 && length > BLOCK_SIZE) {
      prompt = [...Array.from({ length: BLOCK_SIZE }, letters), ...stem.slice(BLOCK_SIZE, length)];
    }
    jobs.push({
      prompt,
      maxTokens: randInt(rand, 1, 24),
      joinAtStep: i < FIRST_WAVE ? 0 : randInt(rand, 1, 120),
    });
  }
  return jobs;
}

// The timeout turns a stalled engine into a failure instead of a hung CI job. A few seconds on the CPU;
// test:gpu's demo model took 265 s of it on an H100 beside twelve other test processes.
describe('batched generation equals generation alone and full recompute', { timeout: 600_000 }, () => {
  let model: LoadedModel;
  let ref: Reference;

  before(async () => {
    model = await loadModel(TEST_MODEL_DIR, testLoadOptions({ intraOpThreads: 1 }));
    ref = await Reference.open(model);
  });
  after(async () => {
    await ref.release();
    await model.release();
  });

  it('greedy tokens are identical batched, alone and in the reference, with chunking, prefix hits and preemption in one run', async (t) => {
    const config: Partial<EngineConfig> = {
      kvCacheBytes: kvBytesFor(model, BLOCK_SIZE, POOL_BLOCKS),
      blockSize: BLOCK_SIZE,
      maxPrefillChunk: CHUNK,
      maxBatchedTokens: 48,
      maxRunningSeqs: 12,
      intraOpThreads: 1,
    };
    const jobs = makeJobs(20240611);
    const eos = model.manifest.tokenizer.eos_token_id;
    const params = (job: Job) => greedyParams(job.maxTokens, { logprobs: 1 });

    // Batched run: a first wave, then the rest joining from the step hook at their step.
    const results = new Map<number, Promise<Collected>>();
    const later = jobs
      .map((job, i) => ({ job, i }))
      .filter(({ job }) => job.joinAtStep > 0)
      .sort((a, b) => a.job.joinAtStep - b.job.joinAtStep);
    let steps = 0;
    let joinedFromHook = 0;
    const hookErrors: unknown[] = [];
    const submit = (engine: Engine, i: number) => {
      const job = jobs[i]!;
      const { events } = mustSubmit(engine, { prompt: job.prompt, params: params(job) });
      results.set(i, collect(events, 1));
    };
    const engine = new Engine(model, config, {
      onStep: (e) => {
        steps++;
        try {
          e.checkInvariants();
          while (later.length && later[0]!.job.joinAtStep <= steps) {
            submit(e, later.shift()!.i);
            joinedFromHook++;
          }
        } catch (err) {
          hookErrors.push(err);
        }
      },
    });
    jobs.forEach((job, i) => {
      if (job.joinAtStep === 0) submit(engine, i);
    });
    await engine.idle();
    // If the engine ran dry before a join step came, the rest join now (each restarts the loop).
    while (later.length) {
      submit(engine, later.shift()!.i);
      await engine.idle();
    }
    const batched = await Promise.all(jobs.map((_, i) => results.get(i)!));
    await engine.idle();
    assert.deepEqual(hookErrors, []);

    const stats = engine.stats();
    t.diagnostic(
      `steps ${stats.steps}, preemptions ${stats.preemptions}, prefix hit rate ${stats.prefixHitRate.toFixed(3)}, ` +
        `tokens computed ${stats.tokensComputed}, joined from the hook ${joinedFromHook}`,
    );
    assert.ok(stats.preemptions > 0, `expected preemptions, got ${stats.preemptions}`);
    assert.ok(stats.prefixHitRate > 0, `expected prefix hits, got rate ${stats.prefixHitRate}`);
    const chunked = jobs.filter((j) => j.prompt.length > CHUNK).length;
    assert.ok(chunked >= 50, `expected many prompts longer than the chunk (${CHUNK}), got ${chunked}`);
    assert.ok(joinedFromHook >= 50, `expected requests joining mid-run, got ${joinedFromHook}`);
    assert.equal(stats.running, 0);
    assert.equal(stats.waiting, 0);
    assert.equal(stats.kvFreeBlocks, stats.kvTotalBlocks);

    const vsAlone = new Worst();
    const aloneVsRef = new Worst();
    const batchedVsRef = new Worst();
    const vocab = model.manifest.architecture.vocab_size;
    const ties: string[] = [];
    /** Runs of one request that part at token k: allowed only at a near-tie (near-tie.ts), float16 only. */
    const parting = async (label: string, prompt: number[], a: number[], b: number[]) => {
      const k = firstDifference(a, b);
      if (k < 0) return a.length;
      if (!TIES_ALLOWED || k >= Math.min(a.length, b.length)) assert.deepEqual(a, b, label);
      const gap = await greedyGap(ref, vocab, [...prompt, ...a.slice(0, k)], a[k]!, b[k]!);
      assert.ok(
        gap <= NEAR_TIE,
        `${label}: part at token ${k} (${a[k]} against ${b[k]}), which the reference sets ${gap} apart (a tie is within ${NEAR_TIE})`,
      );
      ties.push(`${label} at token ${k}, reference gap ${gap.toExponential(1)}`);
      return k;
    };
    /** A run's logprobs against the reference's for its own tokens (float16 forms). */
    const againstReference = async (worst: Worst, label: string, prompt: number[], run: Collected) => {
      const tokens = run.tokens[0]!;
      const expected = await referenceLogprobs(ref, vocab, prompt, tokens);
      run.logprobs[0]!.forEach((lp, k) =>
        worst.see(Math.abs(lp - expected[k]!), () => `${label} token ${k}: ${lp} against ${expected[k]}`),
      );
    };
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const got = batched[i]!;
      assert.equal(got.finishes.length, 1, `request ${i}: one finish event`);
      assert.equal(got.finishes[0]!.reason, 'length', `request ${i}`);
      assert.equal(got.tokens[0]!.length, job.maxTokens, `request ${i}: token count`);

      const alone = await runAlone(() => new Engine(model, config, { onStep: (e) => e.checkInvariants() }), {
        prompt: job.prompt,
        params: params(job),
      });
      const label = `request ${i} (prompt ${job.prompt.length})`;
      const same = await parting(
        `${label}: batched vs alone`,
        job.prompt,
        got.tokens[0]!,
        alone.collected.tokens[0]!,
      );
      // Equal tokens could hide numeric drift; the logprobs reported with them must agree closely too
      // (held to the bounds after every request is compared, so a miss reports the worst, not the first).
      got.logprobs[0]!.slice(0, same).forEach((lp, k) => {
        const other = alone.collected.logprobs[0]![k]!;
        vsAlone.see(Math.abs(lp - other), () => `request ${i} token ${k}: ${lp} batched vs ${other} alone`);
      });
      if (TIES_ALLOWED) {
        await againstReference(batchedVsRef, `request ${i} batched`, job.prompt, got);
        await againstReference(aloneVsRef, `request ${i} alone`, job.prompt, alone.collected);
      }
      const expected = await ref.greedyIgnoringEos(job.prompt, job.maxTokens, eos);
      await parting(`${label}: batched vs reference`, job.prompt, got.tokens[0]!, expected);
    }
    t.diagnostic(
      `near-ties where runs parted (float16 only): ${ties.length}${ties.length ? `: ${ties.join('; ')}` : ''}`,
    );
    t.diagnostic(`worst logprob difference, batched vs alone: ${vsAlone}`);
    // A tie is rare; many would be a difference that stays under the bound by luck.
    assert.ok(ties.length <= MAX_TIES, `${ties.length} partings at near-ties (at most ${MAX_TIES})`);
    if (!TIES_ALLOWED) {
      assert.ok(vsAlone.d <= LOGPROB_TOL, `${vsAlone.at} (bound ${LOGPROB_TOL})`);
      return;
    }
    t.diagnostic(`worst logprob against the float32 reference: alone ${aloneVsRef}; batched ${batchedVsRef}`);
    assert.ok(aloneVsRef.d <= LOGPROB_TOL, `alone, ${aloneVsRef.at} (bound ${LOGPROB_TOL})`);
    const batchingBound = Math.max(2 * aloneVsRef.d, LOGPROB_TOL / 10);
    assert.ok(
      batchedVsRef.d <= batchingBound,
      `batching added error: ${batchedVsRef.at}, beyond ${batchingBound.toExponential(2)} (twice the runs alone's worst)`,
    );
  });
});
