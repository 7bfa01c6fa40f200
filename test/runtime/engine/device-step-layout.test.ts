// The device graph's fused-attention layout, checked against the block tables it came from: every
// token's row is its own query row, every sequence sees each of its positions exactly once and at the
// pool slot its block table gives (the step's new tokens included, since the graph writes them first),
// it reads only its own blocks whatever the tile size, and padding sees nothing. The engine tests check
// the same layout end to end against full recompute.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildDeviceStepInputs,
  deviceStepFeeds,
  type PathInputs,
} from '../../../runtime/engine/runner/device-step-inputs.ts';
import type { StepEntry } from '../../../runtime/engine/runner/step-inputs.ts';
import { INVISIBLE } from '../../../runtime/model/graph/index.ts';
import { STEP_PACK, STEP_PACK_SIZES, stepPackPieces } from '../../../runtime/model/graph/step-pack.ts';
import { mulberry32 } from '../../../runtime/random/mulberry32.ts';

function checkLayout(entries: StepEntry[], blockSize: number) {
  const s = buildDeviceStepInputs(entries, blockSize);
  const T = s.numTokens;
  const [Sp, , QMp] = s.prefill.shape;
  const slotOf = (e: StepEntry, pos: number) =>
    e.blockTable[Math.floor(pos / blockSize)]! * blockSize + (pos % blockSize);
  // The graph sees the pools as [blocks, blockSize, ...]: column c of a sequence is in its block c / BS.
  const columnSlot = (p: PathInputs, seq: number, col: number) => {
    const [, MB] = p.shape;
    const block = Number(p.blocks[seq * MB + Math.floor(col / blockSize)]);
    return block * blockSize + (col % blockSize);
  };
  let t = 0;
  for (const e of entries) {
    const path = e.numNew > 1 ? s.prefill : s.decode;
    const base = e.numNew > 1 ? 0 : Sp * QMp;
    const [, MB, QM] = path.shape;
    const L = MB * blockSize;
    let seq = -1;
    for (let i = 0; i < e.numNew; i++, t++) {
      const pos = e.numComputed + i;
      assert.equal(Number(s.positions[t]), pos);
      assert.equal(Number(s.slots[t]), slotOf(e, pos), `token ${t} is written at its slot`);
      const row = Number(s.tokenRow[t]) - base;
      assert.ok(row >= 0 && row < path.query.length, `token ${t} has a row on its path`);
      assert.equal(Number(path.query[row]), t, `token ${t}'s row queries token ${t}`);
      assert.equal(path.queryPos[row], pos);
      if (i === 0) seq = Math.floor(row / QM);
      else assert.equal(Math.floor(row / QM), seq, 'one sequence, one row group');
    }
    const seen = new Map<number, number>();
    for (let c = 0; c < L; c++) {
      const p = path.keyPos[seq * L + c]!;
      if (p === INVISIBLE) continue;
      assert.equal(seen.get(p), undefined, `position ${p} seen once`);
      seen.set(p, c);
      assert.equal(columnSlot(path, seq, c), slotOf(e, p), `position ${p} is read where it lies`);
    }
    assert.equal(seen.size, e.numComputed + e.numNew, 'every position up to the step end is seen');
    for (let j = 0; j < MB; j++) {
      const block = Number(path.blocks[seq * MB + j]);
      if (j < Math.ceil((e.numComputed + e.numNew) / blockSize))
        assert.equal(block, e.blockTable[j], `block ${j} of the sequence is read in order`);
    }
  }
  // Every row that is no token's is padding: it sees nothing (position -1) and reads token 0's query.
  let rows = 0;
  for (const p of [s.prefill, s.decode]) {
    p.queryPos.forEach((pos, r) => {
      if (pos === -1) assert.equal(Number(p.query[r]), 0, `padding row ${r} reads token 0`);
      else rows++;
    });
  }
  assert.equal(rows, T, 'one row a token, the rest padding');
  return s;
}

function randomStep(seed: number, blockSize: number): StepEntry[] {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const numBlocks = 1024;
  const free = Array.from({ length: numBlocks }, (_, b) => b).sort(() => rand() - 0.5);
  const entries: StepEntry[] = [];
  for (let i = 0, n = 1 + int(6); i < n; i++) {
    const numComputed = int(3) === 0 ? 0 : int(80);
    const numNew = int(2) === 0 ? 1 : 1 + int(40);
    const total = numComputed + numNew;
    const blockTable = Array.from({ length: Math.ceil(total / blockSize) }, () => free.pop()!);
    const tokens = Array.from({ length: total }, (_, k) => 3 + ((k * 7 + i) % 50));
    entries.push({ tokens, numComputed, numNew, blockTable, samples: int(2) === 0 });
  }
  return entries;
}

describe('device step layout (fused attention)', () => {
  for (const blockSize of [1, 4, 16]) {
    it(`random steps, blocks of ${blockSize}`, () => {
      for (let seed = 1; seed <= 40; seed++) checkLayout(randomStep(seed, blockSize), blockSize);
    });
  }

  it('decodes only: the prefill path is one inert row, each decode one row that sees its own token', () => {
    const s = checkLayout(
      [
        { tokens: [5, 6, 7, 8, 9], numComputed: 4, numNew: 1, blockTable: [3, 9], samples: true },
        { tokens: [5], numComputed: 0, numNew: 1, blockTable: [0], samples: true },
      ],
      4,
    );
    assert.deepEqual(s.prefill.shape, [1, 1, 1]);
    assert.deepEqual([...s.prefill.queryPos], [-1]);
    assert.deepEqual([...s.tokenRow], [1n, 2n]);
    assert.deepEqual([...s.logitsIndex], [0n, 1n]);
  });

  it("travels packed: the pack splits back into every piece exactly, with the paths' shapes beside it", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const entries = randomStep(seed, 4);
      const s = buildDeviceStepInputs(entries, 4);
      const slots = Int32Array.from({ length: s.numTokens }, (_, t) => (t * 5 + seed) % 7);
      const feeds = deviceStepFeeds(s, 4, slots);
      const names = stepPackPieces(true);
      const sizes = [...(feeds[STEP_PACK_SIZES]!.data as BigInt64Array)].map(Number);
      assert.equal(sizes.length, names.length);
      const pack = feeds[STEP_PACK]!.data as Float32Array;
      assert.equal(
        pack.length,
        sizes.reduce((a, b) => a + b, 0),
      );
      const want: Record<string, ArrayLike<number | bigint>> = {
        input_ids: s.inputIds,
        positions: s.positions,
        token_row: s.tokenRow,
        logits_index: s.logitsIndex,
        whole_rows: s.wholeRows,
        prefill_blocks: s.prefill.blocks,
        prefill_key_pos: s.prefill.keyPos,
        prefill_query: s.prefill.query,
        prefill_query_pos: s.prefill.queryPos,
        decode_blocks: s.decode.blocks,
        decode_key_pos: s.decode.keyPos,
        decode_query: s.decode.query,
        decode_query_pos: s.decode.queryPos,
        adapter_slot: slots,
      };
      let at = 0;
      names.forEach((n, i) => {
        const got = [...pack.subarray(at, at + sizes[i]!)];
        assert.deepEqual(got, Array.from(want[n]!, Number), `seed ${seed}: ${n}`);
        at += sizes[i]!;
      });
      for (const [path, p] of [['prefill', s.prefill] as const, ['decode', s.decode] as const]) {
        const [S, MB, QM] = p.shape;
        const shape = (of: string) => [...(feeds[`${path}_${of}_shape`]!.data as BigInt64Array)].map(Number);
        assert.deepEqual(shape('blocks'), [S, MB]);
        assert.deepEqual(shape('rows'), [S, QM]);
        assert.deepEqual(shape('keys'), [S, MB * 4]);
      }
      // The pool write's index stays int64, outside the pack: each token's block and offset.
      const index = [...(feeds.write_index!.data as BigInt64Array)].map(Number);
      assert.deepEqual(feeds.write_index!.dims, [s.numTokens, 2]);
      s.slots.forEach((slot, t) => assert.equal(index[2 * t]! * 4 + index[2 * t + 1]!, slot));
      assert.ok(
        index.every((v, k) => k % 2 === 0 || v < 4),
        'offsets within a block',
      );
    }
  });

  it('refuses an index float32 cannot hold exactly', () => {
    const s = buildDeviceStepInputs(
      [{ tokens: [2 ** 24 + 1], numComputed: 0, numNew: 1, blockTable: [0], samples: true }],
      4,
    );
    assert.throws(
      () => deviceStepFeeds(s, 4),
      /input_ids holds 16777217, outside float32's exact whole numbers/,
    );
  });
});
