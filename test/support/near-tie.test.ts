// The near-tie judge the float16 forms of the engine's tests lean on (near-tie.ts): it must say yes at
// a real tie of the reference and no elsewhere, or those tests could pass a real parting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_SAMPLING_PARAMS, type SamplingParams } from '../../runtime/engine/index.ts';
import { Rng } from '../../runtime/engine/sampling/rng.ts';
import { sample } from '../../runtime/engine/sampling/sampler.ts';
import { type LoadedModel, loadModel } from '../../runtime/model/index.ts';
import { bytes, TEST_MODEL_DIR } from './engine-harness.ts';
import { firstDifference, greedyGap, sampledTie } from './near-tie.ts';
import { Reference } from './reference.ts';

describe('near-tie judge (test support)', () => {
  let model: LoadedModel;
  let ref: Reference;
  let vocab: number;
  const context = bytes('qwertyuiop asdfghjkl zxcvbnm qwertyuiop');
  before(async () => {
    model = await loadModel(TEST_MODEL_DIR, { intraOpThreads: 1 });
    ref = await Reference.open(model);
    vocab = model.manifest.architecture.vocab_size;
  });
  after(async () => {
    await ref.release();
    await model.release();
  });

  it('firstDifference: the first parting position, the shorter length, or -1', () => {
    assert.equal(firstDifference([1, 2, 3], [1, 2, 3]), -1);
    assert.equal(firstDifference([1, 2, 3], [1, 5, 3]), 1);
    assert.equal(firstDifference([1, 2], [1, 2, 3]), 2);
  });

  it("greedyGap: the reference's log-probability gap, small for its top two, large for its worst", async () => {
    const all = await ref.logits(context);
    const row = Array.from(all.subarray((context.length - 1) * vocab, context.length * vocab));
    const order = row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    const [top, second, worst] = [order[0]![1], order[1]![1], order[vocab - 1]![1]];
    const close = await greedyGap(ref, vocab, context, top, second);
    const far = await greedyGap(ref, vocab, context, top, worst);
    assert.ok(Math.abs(close - (order[0]![0] - order[1]![0])) < 1e-6);
    assert.ok(far > close && far > 1, `gap to the worst token ${far}`);
  });

  it("sampledTie: yes where the seed's draw sits on a boundary between the two tokens, no away from it", async () => {
    const params: SamplingParams & { seed: number } = {
      ...DEFAULT_SAMPLING_PARAMS,
      temperature: 0.8,
      topP: 0.9,
      topK: 40,
      ignoreEos: true,
      seed: 0,
    };
    const eos = [model.manifest.tokenizer.eos_token_id];
    const all = await ref.logits(context);
    const row = all.slice((context.length - 1) * vocab, context.length * vocab);
    const pick = (u: number) => sample(row.slice(), 0, vocab, params, { next: () => u }, eos).token;
    // Seeds whose first draw falls within 0.002 of a boundary, and ones at least 0.05 from any.
    let near: { seed: number; a: number; b: number } | undefined;
    let clear: { seed: number; a: number } | undefined;
    for (let seed = 1; seed < 5000 && !(near && clear); seed++) {
      const u = Rng.fromSeed(seed, 0).next();
      const [lo, at, hi] = [pick(Math.max(u - 0.002, 0)), pick(u), pick(Math.min(u + 0.002, 0.999999))];
      if (!near && lo !== hi) near = { seed, a: at, b: at === lo ? hi : lo };
      const wide = [u - 0.05, u + 0.05].map((v) => pick(Math.min(Math.max(v, 0), 0.999999)));
      if (!clear && wide.every((t) => t === at)) clear = { seed, a: at };
    }
    assert.ok(near && clear, 'the search found a draw on a boundary and one clear of all');
    const tie = (seed: number, a: number, b: number, margin: number) =>
      sampledTie(ref, vocab, context, 0, a, b, { ...params, seed }, 0, margin, eos);
    assert.equal(await tie(near.seed, near.a, near.b, 0.01), true);
    assert.equal(await tie(near.seed, near.b, near.a, 0.01), true);
    // The same pair judged at a draw clear of their boundary, and a token the draw cannot reach.
    assert.equal(await tie(clear.seed, clear.a, near.a === clear.a ? near.b : near.a, 0.01), false);
    // The draw is the one for the token asked about: k draws into the stream, not the first.
    const u3 = (() => {
      const r = Rng.fromSeed(near.seed, 0);
      r.next();
      r.next();
      r.next();
      return r.next();
    })();
    const at3 = pick(u3);
    assert.equal(
      await sampledTie(ref, vocab, context, 3, at3, at3, { ...params, seed: near.seed }, 0, 0.001, eos),
      true,
    );
  });
});
