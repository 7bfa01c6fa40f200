// The paged step's layout (engine/runner/paged-step-inputs.ts), checked against the block tables it came
// from: PagedAttention writes token i of sequence s at position past_lens[s] + i, in block
// block_table[s][pos / BS] at offset pos % BS, and reads positions [0, past_lens[s] + its new tokens).
// Those must be the slots the engine gave each token (stepTokens) and the sequence's own blocks, with
// the step's tokens grouped by sequence as seq_starts says. The kernel itself has no CPU implementation:
// `npm run test:gpu` runs the engine's tests through it on WebGPU.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPagedStepInputs, pagedStepFeeds } from '../../../runtime/engine/runner/paged-step-inputs.ts';
import type { StepEntry } from '../../../runtime/engine/runner/step-inputs.ts';
import { ATTENTION_BOUNDS } from '../../../runtime/model/graph/paged-attention.ts';
import {
  PAGED_BLOCKS_SHAPE,
  STEP_PACK,
  STEP_PACK_SIZES,
  stepPackPieces,
} from '../../../runtime/model/graph/step-pack.ts';
import { mulberry32 } from '../../../runtime/random/mulberry32.ts';

/** A step of random sequences: fresh prompts, chunks after a prefix, decodes; blocks shuffled across them. */
function randomStep(seed: number, blockSize: number): StepEntry[] {
  const rand = mulberry32(seed);
  const n = 1 + Math.floor(rand() * 8);
  const free = Array.from({ length: 400 }, (_, i) => i).sort(() => rand() - 0.5);
  return Array.from({ length: n }, () => {
    const kind = rand();
    const numComputed = kind < 0.3 ? 0 : Math.floor(rand() * 70);
    const numNew = kind < 0.6 ? 1 + Math.floor(rand() * 40) : 1;
    const length = numComputed + numNew;
    const blockTable = free.splice(0, Math.ceil(length / blockSize) + Math.floor(rand() * 2));
    const tokens = Array.from({ length }, () => Math.floor(rand() * 1000));
    return { tokens, numComputed, numNew, blockTable, samples: rand() < 0.8 };
  });
}

describe("the paged step layout gives PagedAttention the engine's own slots and blocks", () => {
  for (const blockSize of [16, 32])
    it(`200 random steps, block size ${blockSize}`, () => {
      for (let seed = 1; seed <= 200; seed++) {
        const entries = randomStep(seed, blockSize);
        const s = buildPagedStepInputs(entries, blockSize);
        const [S, MB] = s.shape;
        assert.equal(S, entries.length);
        assert.equal(s.seqStarts[0], 0);
        assert.equal(s.seqStarts[S], s.numTokens);
        let t = 0;
        entries.forEach((e, b) => {
          assert.equal(s.seqStarts[b], t, 'tokens grouped by sequence, in order');
          assert.equal(s.pastLens[b], e.numComputed);
          for (let i = 0; i < e.numNew; i++, t++) {
            // Where the kernel writes token t (and rotates it): position past + i, through the block table.
            const pos: number = s.pastLens[b]! + i;
            assert.equal(Number(s.positions[t]), pos);
            const block = s.blockTable[b * MB + Math.floor(pos / blockSize)]!;
            assert.equal(
              block * blockSize + (pos % blockSize),
              s.slots[t],
              `token ${t} lands in its own slot`,
            );
          }
          // Every position the kernel reads is in one of the sequence's own blocks.
          const length = e.numComputed + e.numNew;
          for (let j = 0; j < Math.ceil(length / blockSize); j++)
            assert.equal(s.blockTable[b * MB + j], e.blockTable[j]);
        });
        const [maxQuery, maxKv] = s.bounds;
        assert.equal(maxQuery, Math.max(...entries.map((e) => e.numNew)));
        assert.equal(maxKv, Math.max(...entries.map((e) => e.numComputed + e.numNew)));
        assert.ok(MB * blockSize >= maxKv, 'the block table covers the longest sequence');
      }
    });

  it("the feeds: the pack splits back into the graph's pieces, the bounds stay a host int32 pair", () => {
    const entries = randomStep(7, 16);
    const s = buildPagedStepInputs(entries, 16);
    const slots = Int32Array.from({ length: s.numTokens }, (_, i) => i % 3);
    const feeds = pagedStepFeeds(s, slots);
    const names = stepPackPieces(true, 'paged');
    const sizes = [...(feeds[STEP_PACK_SIZES]!.data as BigInt64Array)].map(Number);
    assert.equal(sizes.length, names.length);
    const packed = feeds[STEP_PACK]!.data as Float32Array;
    const piece = (name: string) => {
      const i = names.indexOf(name);
      const at = sizes.slice(0, i).reduce((a, b) => a + b, 0);
      return [...packed.subarray(at, at + sizes[i]!)];
    };
    assert.deepEqual(piece('seq_starts'), [...s.seqStarts]);
    assert.deepEqual(piece('past_lens'), [...s.pastLens]);
    assert.deepEqual(piece('block_table'), [...s.blockTable]);
    assert.deepEqual(piece('adapter_slot'), [...slots]);
    assert.deepEqual(piece('input_ids'), [...s.inputIds].map(Number));
    assert.deepEqual([...(feeds[PAGED_BLOCKS_SHAPE]!.data as BigInt64Array)].map(Number), [...s.shape]);
    const bounds = feeds[ATTENTION_BOUNDS]!;
    assert.equal(bounds.type, 'int32');
    assert.deepEqual([...(bounds.data as Int32Array)], [...s.bounds]);
    assert.equal(feeds.write_index, undefined, 'the kernel computes where each token goes');
  });
});
