import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BlockCopy, KVCacheManager } from '../../../runtime/engine/kv/index.ts';
import { DeviceKVPool } from '../../../runtime/engine/runner/device-kv-pool.ts';
import { DeviceModelRunner } from '../../../runtime/engine/runner/device-model-runner.ts';
import { KVStore } from '../../../runtime/engine/runner/kv-store.ts';
import { ModelRunner } from '../../../runtime/engine/runner/model-runner.ts';
import {
  buildStepInputs,
  type StepEntry,
  type TileShape,
} from '../../../runtime/engine/runner/step-inputs.ts';
import { type LoadedModel, loadModel } from '../../../runtime/model/index.ts';
import { bytes, prng, randInt, TEST_MODEL_DIR } from '../../support/engine-harness.ts';
import {
  TEST_HALF_STEP,
  TEST_KV,
  TEST_PAGED,
  testLoadOptions,
  testBlockSize,
} from '../../support/test-device.ts';
import { Reference } from '../../support/reference.ts';

// The paged cache must compute the same logits as plain causal attention over the whole sequence.
//
// Tolerance: per logits row, relative error = max_v |paged[v] - ref[v]| / max_v |ref[v]|, and it must be
// at most 1e-4. (A per-element relative error would blow up on logits near zero; scaling by the row's
// largest magnitude measures the error against the size of the numbers the softmax actually sees.)
// A float16 KV pool (test:gpu's device-fp16) rounds every cached key and value to 11 significant bits,
// about float16's own step (9.8e-4): the demo model's fused step on the CPU measured 2.2e-3 worst (the
// eighth decode after copy-on-write; 1.1e-3 at the first), so 5e-3. PagedAttention (test:gpu's paged
// forms, demo model) takes q, k and v in float16 and attends in float16: on an H200 the first decode after
// copy-on-write was 2.4e-3 off (the test stopped there; the fused step's error doubles over the next
// seven), so 1e-2. A float16 step (WARMGATE_TEST_COMPUTE) computes every activation in float16 too: 2.1e-2
// at the third decode after copy-on-write (where it stopped), so 1e-1.
const REL_TOL = TEST_HALF_STEP ? 1e-1 : TEST_PAGED ? 1e-2 : TEST_KV === 'float16' ? 5e-3 : 1e-4;
const BLOCK_SIZE = testBlockSize(4);

function rowRelError(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  assert.ok(scale > 0, 'reference row is all zeros');
  return diff / scale;
}

interface Seq {
  readonly id: string;
  readonly tokens: number[];
  numComputed: number;
}

/** The attention path each entry's past tiles took, read back from the step's graph inputs. */
interface Paths {
  /** Past tiles read in place, per entry. */
  readonly direct: Set<number>[];
  /** Past tiles gathered, per entry. */
  readonly gathered: Set<number>[];
}

const MASKED = -1e29;

function paths(entries: readonly StepEntry[], shape: TileShape): Paths {
  const s = buildStepInputs(entries, shape);
  const tileSize = shape.blockSize * shape.tileBlocks;
  const direct: Set<number>[] = entries.map(() => new Set());
  const gathered: Set<number>[] = entries.map(() => new Set());
  const firstToken: number[] = [];
  let t = 0;
  for (const e of entries) {
    firstToken.push(t);
    t += e.numNew;
  }
  s.directOwner.forEach((row, tile) => {
    if (Number(row) >= s.directQuery.length) return;
    const ei = firstToken.indexOf(Number(s.directQuery[Number(row)]!));
    const open = s.directMask.subarray(tile * tileSize, (tile + 1) * tileSize).some((m) => m > MASKED);
    if (ei >= 0 && open) direct[ei]!.add(tile);
  });
  for (const path of [s.gathered, s.shared]) {
    const [S, MB, QM] = path.shape;
    for (let g = 0; g < S; g++) {
      const ei = firstToken.indexOf(Number(path.query[g * QM]!));
      for (let j = 0; j < MB; j++) {
        const base = (g * MB + j) * tileSize;
        const open = path.mask.subarray(base, base + tileSize).some((m) => m > MASKED);
        if (ei >= 0 && open) gathered[ei]!.add(Number(path.tiles[g * MB + j]!));
      }
    }
  }
  return { direct, gathered };
}

// The timeout turns a stalled engine into a failure instead of a hung CI job.
describe('paged logits match full recompute', { timeout: 120_000 }, () => {
  let model: LoadedModel;
  let ref: Reference;
  let vocab: number;

  before(async () => {
    model = await loadModel(TEST_MODEL_DIR, testLoadOptions({ intraOpThreads: 1 }));
    ref = await Reference.open(model);
    vocab = model.manifest.architecture.vocab_size;
  });
  after(async () => {
    await ref.release();
    await model.release();
  });

  it('reference.onnx matches the torch golden logits', async () => {
    const golden = JSON.parse(await readFile(join(TEST_MODEL_DIR, 'golden.json'), 'utf8')) as {
      prompt_ids: number[];
      rows: number[];
      logits: number[][];
    };
    assert.ok(golden.rows.length > 0);
    assert.equal(golden.rows.length, golden.logits.length);
    const all = await ref.logits(golden.prompt_ids);
    golden.rows.forEach((r, i) => {
      const want = Float32Array.from(golden.logits[i]!);
      assert.equal(want.length, vocab);
      const rel = rowRelError(all.subarray(r * vocab, (r + 1) * vocab), want);
      assert.ok(rel <= REL_TOL, `golden row ${r}: relative error ${rel}`);
    });
  });

  // tileBlocks 1: every block is its own attention tile; 4 (the default): blocks of several sequences
  // can share a tile, and the masks must keep each reader to its own columns.
  for (const tileBlocks of [1, 4]) {
    const shape: TileShape = { blockSize: BLOCK_SIZE, tileBlocks };
    const tileOf = (block: number) => Math.floor(block / tileBlocks);
    /** Tiles holding the first `numComputed` tokens of a table. */
    const pastTiles = (table: readonly number[], numComputed: number) =>
      new Set(table.slice(0, Math.ceil(numComputed / BLOCK_SIZE)).map(tileOf));
    const minus = (a: Set<number>, b: Set<number>) => new Set([...a].filter((x) => !b.has(x)));
    const both = (a: Set<number>, b: Set<number>) => new Set([...a].filter((x) => b.has(x)));

    /** A KV manager, store and runner over a pool of `numBlocks`, and a step function that checks every row. */
    function harness(numBlocks: number) {
      const arch = model.manifest.architecture;
      const store = model.device
        ? new DeviceKVPool(arch, shape, numBlocks, model.device)
        : new KVStore(arch, shape, numBlocks);
      const kv = new KVCacheManager({
        numBlocks,
        blockSize: BLOCK_SIZE,
        tileBlocks,
        modelId: model.modelId,
        enablePrefixCaching: true,
      });
      const runner =
        store instanceof DeviceKVPool ? new DeviceModelRunner(model, store) : new ModelRunner(model, store);
      let checkedRows = 0;
      let worst = 0;
      let worstAt = '';

      /**
       * Allocates, runs and commits one step; every entry samples at its last new token, and that row is
       * checked against the reference. Returns the paths the past took and the copy-on-write copies.
       */
      async function step(label: string, work: readonly { seq: Seq; numNew: number }[]) {
        const copies: BlockCopy[] = [];
        for (const { seq, numNew } of work) {
          const alloc = kv.allocateSlots(seq.id, seq.numComputed + numNew);
          assert.ok(alloc, `${label}: allocation for ${seq.id} failed`);
          copies.push(...alloc.copies);
        }
        const entries: StepEntry[] = work.map(({ seq, numNew }) => ({
          tokens: seq.tokens,
          numComputed: seq.numComputed,
          numNew,
          blockTable: [...kv.blockTable(seq.id)],
          samples: true,
        }));
        const p = paths(entries, shape);
        const out = await runner.step(entries, copies);
        for (let i = 0; i < work.length; i++) {
          const { seq, numNew } = work[i]!;
          const end = seq.numComputed + numNew;
          const row = out.logitsRow[i]!;
          assert.ok(row >= 0, `${label}: ${seq.id} has no logits row`);
          const got = out.logits.subarray(row * vocab, (row + 1) * vocab);
          const all = await ref.logits(seq.tokens.slice(0, end));
          const rel = rowRelError(got, all.subarray((end - 1) * vocab, end * vocab));
          // Every row is checked before the bound is: a miss then reports the worst row, not the first.
          if (rel > worst) [worst, worstAt] = [rel, `${label}: ${seq.id} at position ${end - 1}`];
          checkedRows++;
          seq.numComputed = end;
          kv.commitComputed(seq.id, seq.tokens, end);
        }
        kv.checkInvariants();
        return { paths: p, copies };
      }

      function admit(seq: Seq): number {
        const hit = kv.findCachedPrefix(seq.tokens);
        const alloc = kv.allocateSlots(seq.id, hit.numTokens, hit);
        assert.ok(alloc, `admission of ${seq.id} failed`);
        seq.numComputed = hit.numTokens;
        return hit.numTokens;
      }

      const table = (seq: Seq) => kv.blockTable(seq.id);
      /** Reports the rows checked and the worst, then holds the worst to the bound. */
      function verdict(t: { diagnostic(message: string): void }) {
        t.diagnostic(
          `rows checked ${checkedRows}, worst relative error ${worst.toExponential(2)} (${worstAt})`,
        );
        assert.ok(worst <= REL_TOL, `${worstAt}: relative error ${worst} (bound ${REL_TOL})`);
      }
      return { kv, step, admit, table, verdict };
    }

    describe(`tileBlocks ${tileBlocks}`, () => {
      it('prefill chunks over a past (gathered) and decodes in place (direct)', async (t) => {
        const h = harness(64);
        const a: Seq = {
          id: 'a',
          tokens: bytes('First Citizen:\nBefore we proceed any further, hear'),
          numComputed: 0,
        };
        const promptLength = a.tokens.length;
        h.admit(a);
        // Chunks of 16: the first has no past, the later ones read their past through the gather.
        for (let chunk = 0; a.numComputed < promptLength; chunk++) {
          const past = a.numComputed;
          const numNew = Math.min(16, promptLength - past);
          const { paths: p } = await h.step(`prefill chunk ${chunk}`, [{ seq: a, numNew }]);
          assert.deepEqual(p.direct[0], new Set());
          assert.deepEqual(p.gathered[0], pastTiles(h.table(a), past), `chunk ${chunk} gathers its past`);
        }
        const rand = prng(7);
        for (let i = 0; i < 9; i++) {
          a.tokens.push(randInt(rand, 0, 255));
          const past = a.numComputed;
          const { paths: p } = await h.step(`decode ${i}`, [{ seq: a, numNew: 1 }]);
          assert.deepEqual(p.gathered[0], new Set(), `decode ${i} gathers nothing`);
          assert.deepEqual(p.direct[0], pastTiles(h.table(a), past), `decode ${i} reads its tiles in place`);
        }
        h.verdict(t);
      });

      it('two sequences sharing prefix blocks in one step, on both paths', async (t) => {
        const h = harness(64);
        const a: Seq = {
          id: 'a',
          tokens: bytes('ROMEO:\nBut, soft! what light through yonder'),
          numComputed: 0,
        };
        h.admit(a);
        await h.step('prefill a', [{ seq: a, numNew: a.tokens.length }]);
        // b shares a's first full blocks (6 of 4 tokens; 2 of 16 under PagedAttention), then differs.
        const sharedBlocks = Math.min(6, Math.floor((a.tokens.length - 1) / BLOCK_SIZE));
        const shared = sharedBlocks * BLOCK_SIZE;
        const b: Seq = {
          id: 'b',
          tokens: [...a.tokens.slice(0, shared), ...bytes(' window breaks?')],
          numComputed: 0,
        };
        assert.equal(h.admit(b), shared);
        assert.deepEqual(h.table(b).slice(0, sharedBlocks), h.table(a).slice(0, sharedBlocks));

        // a decodes (reads its tiles in place) while b prefills over the shared prefix (gathered).
        a.tokens.push(...bytes('!'));
        let pastA = a.numComputed;
        let pastB = b.numComputed;
        let { paths: p } = await h.step('a decode + b prefill', [
          { seq: a, numNew: 1 },
          { seq: b, numNew: b.tokens.length - shared },
        ]);
        assert.deepEqual(p.direct[0], pastTiles(h.table(a), pastA));
        assert.deepEqual(p.gathered[1], pastTiles(h.table(b), pastB));

        // Both decode: b comes first and owns its tiles, so a must gather the ones it shares with b.
        for (let i = 0; i < 4; i++) {
          b.tokens.push(100 + i);
          a.tokens.push(200 + i);
          pastA = a.numComputed;
          pastB = b.numComputed;
          ({ paths: p } = await h.step(`b + a decode ${i}`, [
            { seq: b, numNew: 1 },
            { seq: a, numNew: 1 },
          ]));
          const tilesA = pastTiles(h.table(a), pastA);
          const tilesB = pastTiles(h.table(b), pastB);
          assert.deepEqual(p.direct[0], tilesB);
          assert.deepEqual(
            p.gathered[1],
            both(tilesA, tilesB),
            'a reads the tiles b owns through the gather',
          );
          assert.deepEqual(p.direct[1], minus(tilesA, tilesB), 'a reads the rest in place');
          // Both reads happen where a tile is shorter than the shared prefix (always with 4-token blocks; not
          // with 16-token blocks four a tile, where all of a's context lies in tiles b owns).
          if (BLOCK_SIZE * tileBlocks < shared) assert.ok(p.gathered[1]!.size > 0 && p.direct[1]!.size > 0);
        }
        h.verdict(t);
      });

      it('a forked sequence after copy-on-write', async (t) => {
        const h = harness(64);
        const a: Seq = { id: 'a', tokens: bytes('To be, or not to be, that is th'), numComputed: 0 };
        assert.notEqual(
          a.tokens.length % BLOCK_SIZE,
          0,
          'the last prompt block must be partial for copy-on-write',
        );
        h.admit(a);
        await h.step('prefill', [{ seq: a, numNew: a.tokens.length }]);
        h.kv.fork('a', 'c');
        const c: Seq = { id: 'c', tokens: [...a.tokens], numComputed: a.numComputed };
        const partial = h.table(a)[Math.floor(a.numComputed / BLOCK_SIZE)]!;
        assert.equal(h.table(c).at(-1), partial, 'the child shares the partial block');

        // Different next tokens: each must see the shared prompt, and only its own continuation.
        a.tokens.push(...bytes('e'));
        c.tokens.push(...bytes('y'));
        const { copies } = await h.step('first decode after fork', [
          { seq: a, numNew: 1 },
          { seq: c, numNew: 1 },
        ]);
        assert.equal(copies.length, 1, 'exactly one copy-on-write');
        assert.equal(copies[0]!.src, partial);
        assert.notEqual(h.table(a).at(-1), h.table(c).at(-1));
        for (let i = 0; i < 8; i++) {
          a.tokens.push(65 + i);
          c.tokens.push(97 + i);
          await h.step(`decode ${i} after fork`, [
            { seq: c, numNew: 1 },
            { seq: a, numNew: 1 },
          ]);
        }
        h.verdict(t);
      });

      it('sequences whose blocks are scattered over the pool', async (t) => {
        const h = harness(48);
        // Fill the low ids, start two sequences above them, then free the filler so that the sequences'
        // later blocks land below their first ones.
        assert.ok(h.kv.allocateSlots('filler', 10 * BLOCK_SIZE));
        const p: Seq = {
          id: 'p',
          tokens: bytes('the quick brown fox jumps over the lazy dog, again and again'),
          numComputed: 0,
        };
        const q: Seq = {
          id: 'q',
          tokens: bytes('It was the best of times, it was the worst of times, it was'),
          numComputed: 0,
        };
        h.admit(p);
        h.admit(q);
        await h.step('p, q first chunk', [
          { seq: p, numNew: 8 },
          { seq: q, numNew: 12 },
        ]);
        h.kv.free('filler');
        while (p.numComputed < p.tokens.length || q.numComputed < q.tokens.length) {
          const work = [p, q]
            .filter((s) => s.numComputed < s.tokens.length)
            .map((seq) => ({
              seq,
              numNew: Math.min(seq === p ? 4 : 3, seq.tokens.length - seq.numComputed),
            }));
          await h.step('interleaved prefill', work);
        }
        for (let i = 0; i < 6; i++) {
          p.tokens.push(40 + i);
          q.tokens.push(50 + i);
          const pastP = p.numComputed;
          const pastQ = q.numComputed;
          const { paths: ps } = await h.step(`scattered decode ${i}`, [
            { seq: q, numNew: 1 },
            { seq: p, numNew: 1 },
          ]);
          const tilesQ = pastTiles(h.table(q), pastQ);
          assert.deepEqual(ps.direct[0], tilesQ);
          assert.deepEqual(ps.direct[1], minus(pastTiles(h.table(p), pastP), tilesQ));
        }
        for (const seq of [p, q]) {
          const table = h.table(seq);
          const contiguous = table.every((b, i) => i === 0 || b === table[i - 1]! + 1);
          assert.ok(!contiguous, `${seq.id}'s table ${table.join(',')} should be scattered`);
          assert.ok(
            table.some((b, i) => i > 0 && b < table[i - 1]!),
            `${seq.id}'s table ${table.join(',')} should go back down the pool`,
          );
        }
        t.diagnostic(`tables p=${h.table(p).join(',')} q=${h.table(q).join(',')}`);
        h.verdict(t);
      });

      it('blocks of different sequences in one tile, each reader masked to its own', async (t) => {
        // x and y start in tiles of their own; two fillers take the last wholly free tiles, so z has to
        // take the lowest free block, in x's tile (with tileBlocks 1 this is just a small pool).
        const h = harness(16);
        const x: Seq = { id: 'x', tokens: bytes('xxx: hello'), numComputed: 0 };
        const y: Seq = { id: 'y', tokens: bytes('yy: goodbye'), numComputed: 0 };
        const z: Seq = { id: 'z', tokens: bytes('z: neither'), numComputed: 0 };
        for (const s of [x, y, z]) h.admit(s);
        await h.step('x, y prefill', [
          { seq: x, numNew: 3 },
          { seq: y, numNew: 3 },
        ]);
        assert.ok(h.kv.allocateSlots('filler1', BLOCK_SIZE));
        assert.ok(h.kv.allocateSlots('filler2', BLOCK_SIZE));
        await h.step('z prefill', [{ seq: z, numNew: 3 }]);
        while ([x, y, z].some((s) => s.numComputed < s.tokens.length)) {
          const work = [z, x, y]
            .filter((s) => s.numComputed < s.tokens.length)
            .map((seq) => ({ seq, numNew: Math.min(2, seq.tokens.length - seq.numComputed) }));
          await h.step('interleaved prefill', work);
        }
        const mixed = [...pastTiles(h.table(x), x.numComputed)].filter((tile) =>
          pastTiles(h.table(z), z.numComputed).has(tile),
        );
        if (tileBlocks > 1)
          assert.ok(
            mixed.length > 0,
            `x ${h.table(x).join(',')} and z ${h.table(z).join(',')} share no tile`,
          );
        for (let i = 0; i < 5; i++) {
          for (const s of [x, y, z]) s.tokens.push(60 + i);
          const order = i % 2 === 0 ? [x, z, y] : [z, y, x];
          const past = new Map(order.map((s) => [s, pastTiles(h.table(s), s.numComputed)]));
          const { paths: ps } = await h.step(
            `decode ${i}`,
            order.map((seq) => ({ seq, numNew: 1 })),
          );
          // The first decoder of a tile owns it; later readers of the same tile gather it.
          const owned = new Set<number>();
          order.forEach((s, j) => {
            const tiles = past.get(s)!;
            assert.deepEqual(ps.direct[j], minus(tiles, owned), `decode ${i}: ${s.id} in place`);
            assert.deepEqual(ps.gathered[j], both(tiles, owned), `decode ${i}: ${s.id} gathered`);
            for (const tile of tiles) owned.add(tile);
          });
        }
        t.diagnostic(`tables x=${h.table(x).join(',')} y=${h.table(y).join(',')} z=${h.table(z).join(',')}`);
        h.verdict(t);
      });
    });
  }
});
