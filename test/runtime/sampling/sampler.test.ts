import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RandomSource } from '../../../runtime/engine/sampling/rng.ts';
import { Rng } from '../../../runtime/engine/sampling/rng.ts';
import { type SamplerParams, sample } from '../../../runtime/engine/sampling/sampler.ts';

const base: SamplerParams = { temperature: 1, topK: 0, topP: 1, logprobs: 0 };

/** Always returns `u` and counts how often it was asked. */
class FixedRandom implements RandomSource {
  calls = 0;
  constructor(readonly u: number) {}
  next(): number {
    this.calls++;
    return this.u;
  }
}

const noRandom: RandomSource = {
  next() {
    throw new Error('greedy sampling must not draw');
  },
};

/** Logits whose softmax is exactly `probs`, placed at `offset` inside a larger buffer of junk. */
function rowOf(probs: number[], offset = 0): Float32Array {
  const logits = new Float32Array(offset + probs.length + 3).fill(99);
  probs.forEach((p, i) => {
    logits[offset + i] = Math.log(p);
  });
  return logits;
}

function frequencies(
  logits: Float32Array,
  offset: number,
  vocab: number,
  params: SamplerParams,
  draws: number,
) {
  const rng = Rng.fromSeed(2024);
  const counts = new Array<number>(vocab).fill(0);
  for (let i = 0; i < draws; i++) counts[sample(logits, offset, vocab, params, rng).token]!++;
  return counts;
}

/** Pearson chi-square of observed counts against expected probabilities (zero-probability bins must be empty). */
function chiSquare(counts: number[], expected: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let chi2 = 0;
  counts.forEach((c, i) => {
    const e = expected[i]! * total;
    if (e === 0) assert.equal(c, 0, `token ${i} has probability 0 but was drawn ${c} times`);
    else chi2 += (c - e) ** 2 / e;
  });
  return chi2;
}

function logSoftmax(row: ArrayLike<number>): number[] {
  const xs = Array.from(row);
  const max = Math.max(...xs);
  const logZ = max + Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
  return xs.map((x) => x - logZ);
}

// Probabilities 0.1, 0.5, 0.15, 0.25 for tokens 0..3: sorted order is 1, 3, 2, 0.
const probs = [0.1, 0.5, 0.15, 0.25];

describe('sample: greedy', () => {
  test('takes the argmax and draws nothing', () => {
    const logits = Float32Array.from([0.5, -1, 2.5, 2, 1]);
    assert.equal(sample(logits, 0, 5, { ...base, temperature: 0 }, noRandom).token, 2);
  });

  test('the lowest id wins a tie', () => {
    const logits = Float32Array.from([1, 3, 0, 3, 3]);
    assert.equal(sample(logits, 0, 5, { ...base, temperature: 0 }, noRandom).token, 1);
  });

  test('reads only its own row', () => {
    const logits = Float32Array.from([9, 9, 1, 4, 2, 9]);
    assert.equal(sample(logits, 2, 3, { ...base, temperature: 0 }, noRandom).token, 1);
  });

  test('rejects a row past the end of the buffer', () => {
    assert.throws(() => sample(new Float32Array(4), 2, 3, base, noRandom), RangeError);
  });
});

describe('sample: random', () => {
  test('draws exactly one number per token, whatever the truncation', () => {
    const logits = rowOf(probs);
    for (const params of [base, { ...base, topK: 2 }, { ...base, topP: 0.5 }, { ...base, topK: 1 }]) {
      const rng = new FixedRandom(0.3);
      sample(logits, 0, 4, params, rng);
      assert.equal(rng.calls, 1);
    }
  });

  test('the same seed replays the same tokens', () => {
    const logits = rowOf(probs);
    const run = () => {
      const rng = Rng.fromSeed(11, 2);
      return Array.from({ length: 50 }, () => sample(logits, 0, 4, { ...base, topK: 3 }, rng).token);
    };
    assert.deepEqual(run(), run());
  });

  test('a row sampled inside a batch gives the same token as on its own', () => {
    const own = rowOf(probs);
    const batch = new Float32Array(4 * 3);
    batch.set(Float32Array.from([5, 0, 0, 0]), 0);
    batch.set(own.subarray(0, 4), 4);
    batch.set(Float32Array.from([0, 0, 0, 5]), 8);
    for (let seed = 0; seed < 20; seed++) {
      const alone = sample(own, 0, 4, base, Rng.fromSeed(seed)).token;
      assert.equal(sample(batch, 4, 4, base, Rng.fromSeed(seed)).token, alone);
    }
  });

  test('topK = 1 equals greedy, ties included', () => {
    const rng = Rng.fromSeed(5);
    for (let trial = 0; trial < 200; trial++) {
      // Coarse values make ties common.
      const logits = Float32Array.from({ length: 16 }, () => Math.floor(rng.next() * 4));
      const greedy = sample(logits, 0, 16, { ...base, temperature: 0 }, noRandom).token;
      const top1 = sample(logits, 0, 16, { ...base, temperature: 1.3, topK: 1 }, rng).token;
      assert.equal(top1, greedy);
    }
  });

  test('without truncation, frequencies follow the softmax', () => {
    const counts = frequencies(rowOf(probs, 5), 5, 4, base, 20_000);
    // 3 degrees of freedom; 16.27 is the 0.001 critical value.
    assert.ok(chiSquare(counts, probs) < 16.27, `counts ${counts}`);
  });

  test('topK keeps the k most likely and renormalises', () => {
    const counts = frequencies(rowOf(probs), 0, 4, { ...base, topK: 2 }, 20_000);
    assert.ok(chiSquare(counts, [0, 0.5 / 0.75, 0, 0.25 / 0.75]) < 10.83, `counts ${counts}`);
  });

  test('topP keeps the smallest prefix whose mass reaches topP', () => {
    // 0.5 + 0.25 = 0.75 >= 0.7: tokens 1 and 3 survive.
    const counts = frequencies(rowOf(probs), 0, 4, { ...base, topP: 0.7 }, 20_000);
    assert.ok(chiSquare(counts, [0, 0.5 / 0.75, 0, 0.25 / 0.75]) < 10.83, `counts ${counts}`);
    // 0.75 < 0.8, so token 2 joins: 0.9 in all.
    const wider = frequencies(rowOf(probs), 0, 4, { ...base, topP: 0.8 }, 20_000);
    assert.ok(chiSquare(wider, [0, 0.5 / 0.9, 0.15 / 0.9, 0.25 / 0.9]) < 13.82, `counts ${wider}`);
  });

  test('topP measures mass within the top-k survivors', () => {
    // Survivors 0.5, 0.25, 0.15 hold 0.9; 0.8 of that is 0.72, which 0.5 + 0.25 already reaches.
    const counts = frequencies(rowOf(probs), 0, 4, { ...base, topK: 3, topP: 0.8 }, 20_000);
    assert.equal(counts[2], 0);
    assert.equal(counts[0], 0);
  });

  test('a tiny topP still keeps the most likely token', () => {
    const counts = frequencies(rowOf(probs), 0, 4, { ...base, topP: 0.01 }, 500);
    assert.deepEqual(counts, [0, 500, 0, 0]);
  });

  test('the draw walks survivors from most to least likely', () => {
    // Kept: token 1 (2/3) then token 3 (1/3).
    assert.equal(sample(rowOf(probs), 0, 4, { ...base, topP: 0.7 }, new FixedRandom(0.66)).token, 1);
    assert.equal(sample(rowOf(probs), 0, 4, { ...base, topP: 0.7 }, new FixedRandom(0.67)).token, 3);
    assert.equal(sample(rowOf(probs), 0, 4, { ...base, topP: 0.7 }, new FixedRandom(0.999999)).token, 3);
    assert.equal(sample(rowOf(probs), 0, 4, { ...base, topP: 0.7 }, new FixedRandom(0)).token, 1);
  });

  test('lower temperature sharpens, higher flattens', () => {
    const cold = frequencies(rowOf(probs), 0, 4, { ...base, temperature: 0.5 }, 20_000);
    // At T = 0.5 probabilities go as p^2.
    const squared = probs.map((p) => p * p);
    const z = squared.reduce((a, b) => a + b, 0);
    assert.ok(
      chiSquare(
        cold,
        squared.map((p) => p / z),
      ) < 16.27,
      `counts ${cold}`,
    );
    const warm = frequencies(rowOf(probs), 0, 4, { ...base, temperature: 2 }, 20_000);
    const normal = frequencies(rowOf(probs), 0, 4, base, 20_000);
    assert.ok(cold[1]! > normal[1]! && normal[1]! > warm[1]!, `${cold} / ${normal} / ${warm}`);
  });

  test('a token whose weight underflows to zero is not drawn, even at u = 0', () => {
    const logits = Float32Array.from([-1e4, 0, 0]);
    assert.equal(sample(logits, 0, 3, base, new FixedRandom(0)).token, 1);
  });

  test('tokens with logit -Infinity are never drawn', () => {
    const logits = Float32Array.from([Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY, 0]);
    const counts = frequencies(logits, 0, 4, { ...base, temperature: 2 }, 1000);
    assert.equal(counts[0]! + counts[2]!, 0);
  });
});

describe('sample: large vocabulary', () => {
  const vocab = 50_000;
  const rng = Rng.fromSeed(99);
  const logits = Float32Array.from({ length: vocab }, () => rng.next() * 10);
  const ranked = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);

  test('topK draws only from the k highest logits', () => {
    const allowed = new Set(ranked.slice(0, 40));
    const draws = Rng.fromSeed(1);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const { token } = sample(logits, 0, vocab, { ...base, topK: 40 }, draws);
      assert.ok(allowed.has(token), `token ${token} is outside the top 40`);
      seen.add(token);
    }
    assert.ok(seen.size > 30, `only ${seen.size} of 40 seen`);
    // The ends of the draw range land on the first and the last survivor.
    assert.equal(sample(logits, 0, vocab, { ...base, topK: 40 }, new FixedRandom(0)).token, ranked[0]);
    assert.equal(
      sample(logits, 0, vocab, { ...base, topK: 40 }, new FixedRandom(1 - 2 ** -32)).token,
      ranked[39],
    );
  });

  test('topP alone draws only from the nucleus computed by a full sort', () => {
    const p = logSoftmax(logits).map(Math.exp);
    let mass = 0;
    let size = 0;
    while (mass < 0.3) mass += p[ranked[size++]!]!;
    assert.ok(size > 1000 && size < vocab / 2, `nucleus of ${size} does not exercise the heap`);
    const allowed = new Set(ranked.slice(0, size));
    const draws = Rng.fromSeed(2);
    for (let i = 0; i < 300; i++) {
      const { token } = sample(logits, 0, vocab, { ...base, topP: 0.3 }, draws);
      assert.ok(allowed.has(token), `token ${token} is outside the nucleus of ${size}`);
    }
    const last = sample(logits, 0, vocab, { ...base, topP: 0.3 }, new FixedRandom(1 - 2 ** -32)).token;
    assert.equal(last, ranked[size - 1]);
  });

  test('greedy finds the maximum', () => {
    assert.equal(sample(logits, 0, vocab, { ...base, temperature: 0 }, noRandom).token, ranked[0]);
  });
});

describe('sample: logprobs', () => {
  const rng = Rng.fromSeed(3);
  const row = Float32Array.from({ length: 257 }, () => (rng.next() - 0.5) * 12);
  const expected = logSoftmax(row);

  test('the chosen token carries the raw log-softmax, whatever the temperature and truncation', () => {
    for (const params of [
      { ...base, temperature: 0 },
      { ...base, temperature: 0.3, topK: 5 },
      { ...base, temperature: 1.7, topP: 0.5 },
    ]) {
      const result = sample(row, 0, 257, params, Rng.fromSeed(8));
      assert.ok(Math.abs(result.logprob - expected[result.token]!) < 1e-9);
    }
  });

  test('top holds the n highest raw logprobs, best first', () => {
    const result = sample(row, 0, 257, { ...base, logprobs: 5 }, Rng.fromSeed(8));
    const want = expected
      .map((logprob, token) => ({ token, logprob }))
      .sort((a, b) => b.logprob - a.logprob)
      .slice(0, 5);
    assert.equal(result.top.length, 5);
    result.top.forEach((entry, i) => {
      assert.equal(entry.token, want[i]!.token);
      assert.ok(Math.abs(entry.logprob - want[i]!.logprob) < 1e-9);
    });
  });

  test('top breaks ties by lower id and is empty when off', () => {
    const logits = Float32Array.from([1, 2, 2, 0, 2]);
    const result = sample(logits, 0, 5, { ...base, temperature: 0, logprobs: 3 }, noRandom);
    assert.deepEqual(
      result.top.map((t) => t.token),
      [1, 2, 4],
    );
    assert.deepEqual(sample(logits, 0, 5, { ...base, temperature: 0 }, noRandom).top, []);
  });
});

describe('sample: ignoreEos', () => {
  const eos = 3;
  const eosIds = [eos];
  const logits = Float32Array.from([1, 2, 0, 10]);

  test('EOS is never chosen, but still shows in logprobs', () => {
    const greedy = sample(
      logits,
      0,
      4,
      { ...base, temperature: 0, ignoreEos: true, logprobs: 1 },
      noRandom,
      eosIds,
    );
    assert.equal(greedy.token, 1);
    assert.equal(greedy.top[0]!.token, eos);
    const draws = Rng.fromSeed(4);
    for (let i = 0; i < 500; i++) {
      assert.notEqual(
        sample(logits, 0, 4, { ...base, temperature: 2, ignoreEos: true }, draws, eosIds).token,
        eos,
      );
    }
  });

  test('without ignoreEos the EOS logit competes normally', () => {
    assert.equal(sample(logits, 0, 4, { ...base, temperature: 0 }, noRandom, eosIds).token, eos);
  });

  test('every declared EOS id is masked, and the row is left as it was', () => {
    const row = Float32Array.from([1, 2, 9, 10]);
    const r = sample(row, 0, 4, { ...base, temperature: 0, ignoreEos: true, logprobs: 2 }, noRandom, [3, 2]);
    assert.equal(r.token, 1);
    assert.deepEqual(Array.from(row), [1, 2, 9, 10]);
    assert.deepEqual(
      r.top.map((t) => t.token),
      [3, 2],
    );
  });

  test('ignoreEos without an EOS id is a programming error', () => {
    assert.throws(() => sample(logits, 0, 4, { ...base, ignoreEos: true }, noRandom), RangeError);
  });
});
