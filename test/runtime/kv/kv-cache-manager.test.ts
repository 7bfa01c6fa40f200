import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AllocationResult, KVCacheManager } from '../../../runtime/engine/kv/index.ts';

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

function manager(numBlocks: number, enablePrefixCaching = true): KVCacheManager {
  return new KVCacheManager({ numBlocks, blockSize: 4, modelId: 'm', enablePrefixCaching });
}

function mustAllocate(kv: KVCacheManager, id: string, n: number): AllocationResult {
  const res = kv.allocateSlots(id, n);
  assert.ok(res, `allocation of ${n} slots for ${id} failed`);
  return res;
}

describe('KVCacheManager allocation', () => {
  it('returns null and changes nothing when short', () => {
    const kv = manager(4);
    assert.deepEqual(mustAllocate(kv, 'a', 12).newBlocks, [0, 1, 2]);
    const before = kv.stats();
    assert.equal(kv.allocateSlots('b', 8), null);
    assert.equal(kv.has('b'), false);
    assert.equal(kv.allocateSlots('a', 20), null);
    assert.deepEqual(kv.blockTable('a'), [0, 1, 2]);
    assert.deepEqual(kv.stats(), before);
    assert.deepEqual(mustAllocate(kv, 'a', 16).newBlocks, [3]);
    assert.equal(kv.canEverFit(16), true);
    assert.equal(kv.canEverFit(17), false);
    assert.equal(kv.numBlocksNeeded(9), 3);
    kv.checkInvariants();
  });

  it('does not count the prefix it is about to reuse as available', () => {
    const kv = manager(4);
    const x = range(1, 9);
    assert.ok(kv.allocateSlots('x', 9, kv.findCachedPrefix(x)));
    kv.commitComputed('x', x, 9);
    kv.free('x'); // cached: 1, 0; plain: 2, 3
    const y = [...x.slice(0, 8), ...range(50, 9)];
    const prefix = kv.findCachedPrefix(y);
    assert.deepEqual(prefix.blocks, [0, 1]);
    const before = kv.stats();
    // 17 tokens need 5 blocks: 2 hits + 3 new, but only 2 blocks are free besides the hits.
    assert.equal(kv.allocateSlots('y', 17, prefix), null);
    assert.deepEqual(kv.stats(), before);
    assert.deepEqual(kv.allocateSlots('y', 16, prefix), { newBlocks: [2, 3], copies: [] });
    assert.deepEqual(kv.blockTable('y'), [0, 1, 2, 3]);
    kv.checkInvariants();
  });

  it('free returns every block', () => {
    const kv = manager(8);
    const initial = kv.stats();
    assert.deepEqual(initial, {
      numBlocks: 8,
      blockSize: 4,
      freeBlocks: 8,
      cachedBlocks: 0,
      usedBlocks: 0,
      usage: 0,
      prefixQueriedTokens: 0,
      prefixHitTokens: 0,
      maxUsedBlockId: -1,
    });
    mustAllocate(kv, 'a', 10);
    mustAllocate(kv, 'b', 5);
    kv.commitComputed('b', range(0, 5), 5);
    kv.fork('b', 'c');
    assert.deepEqual(kv.stats().usedBlocks, 5);
    assert.equal(kv.stats().usage, 5 / 8);
    assert.equal(kv.stats().maxUsedBlockId, 4);
    assert.equal(kv.free('a'), true);
    assert.equal(kv.free('a'), false);
    assert.equal(kv.stats().maxUsedBlockId, 4);
    kv.free('b');
    kv.free('c');
    assert.deepEqual(kv.stats(), { ...initial, cachedBlocks: 1, prefixQueriedTokens: 15 });
    kv.checkInvariants();
  });
});

describe('KVCacheManager fork and copy-on-write', () => {
  it('shares blocks and copies the partial last block on the first write', () => {
    const kv = manager(8);
    const p = range(1, 6);
    mustAllocate(kv, 'p', 6);
    kv.commitComputed('p', p, 6);
    kv.fork('p', 'c');
    assert.deepEqual(kv.blockTable('c'), [0, 1]);
    assert.equal(kv.numComputedTokens('c'), 6);
    assert.equal(kv.stats().usedBlocks, 2);
    kv.checkInvariants();

    // Nothing to write yet: no copy.
    assert.deepEqual(kv.allocateSlots('c', 6), { newBlocks: [], copies: [] });
    assert.deepEqual(kv.allocateSlots('c', 7), { newBlocks: [], copies: [{ src: 1, dst: 2 }] });
    assert.deepEqual(kv.blockTable('c'), [0, 2]);
    // The parent now owns block 1 alone and writes into it in place.
    assert.deepEqual(kv.allocateSlots('p', 9), { newBlocks: [3], copies: [] });
    assert.deepEqual(kv.blockTable('p'), [0, 1, 3]);
    kv.checkInvariants();

    kv.free('p');
    assert.equal(kv.stats().usedBlocks, 2); // 0 still held by the child, plus 2
    kv.free('c');
    assert.equal(kv.stats().usedBlocks, 0);
    kv.checkInvariants();
  });

  it('does not copy a full shared block, and shares only computed blocks', () => {
    const kv = manager(8);
    mustAllocate(kv, 'p', 12);
    kv.commitComputed('p', range(1, 12), 8);
    kv.fork('p', 'c');
    // Block 2 holds no KV yet; sharing it would let both sequences write it.
    assert.deepEqual(kv.blockTable('c'), [0, 1]);
    assert.deepEqual(kv.allocateSlots('c', 9), { newBlocks: [3], copies: [] });
    kv.checkInvariants();
  });

  it('refuses a write into a shared block that skipped allocateSlots', () => {
    const kv = manager(8);
    const p = range(1, 8);
    mustAllocate(kv, 'p', 8);
    kv.commitComputed('p', p, 6);
    kv.fork('p', 'c');
    assert.throws(() => kv.commitComputed('p', p, 7), /block 1 is shared/);
    assert.deepEqual(kv.allocateSlots('p', 8), { newBlocks: [], copies: [{ src: 1, dst: 2 }] });
    kv.commitComputed('p', p, 8);
    assert.deepEqual(kv.blockTable('p'), [0, 2]);
    kv.checkInvariants();
  });

  it('returns null when the copy does not fit, and changes nothing', () => {
    const kv = manager(2);
    mustAllocate(kv, 'p', 6);
    kv.commitComputed('p', range(1, 6), 6);
    kv.fork('p', 'c');
    const before = kv.stats();
    assert.equal(kv.allocateSlots('c', 7), null);
    assert.deepEqual(kv.blockTable('c'), [0, 1]);
    assert.deepEqual(kv.stats(), before);
    kv.free('p');
    assert.deepEqual(kv.allocateSlots('c', 7), { newBlocks: [], copies: [] });
    kv.checkInvariants();
  });
});

/** mulberry32: small, seeded, good enough to drive a property test. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random admit / grow / commit / fork / free against a model of what the KV blocks hold: every computed
 * position must read back its own token, and a write must only ever land in a block its sequence owns alone.
 */
function randomOps(seed: number, enablePrefixCaching: boolean, tileBlocks = 1) {
  const blockSize = 4;
  const numBlocks = 24;
  const kv = new KVCacheManager({ numBlocks, blockSize, modelId: 'm', enablePrefixCaching, tileBlocks });
  const random = rng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const tokens = new Map<string, number[]>();
  const content = new Map<number, number[]>();
  const counts = { nulls: 0, copies: 0, admitted: 0 };
  let nextId = 0;

  const apply = (res: AllocationResult) => {
    for (const b of res.newBlocks) content.set(b, new Array(blockSize).fill(-1));
    for (const { src, dst } of res.copies) content.set(dst, [...content.get(src)!]);
    counts.copies += res.copies.length;
  };
  const owners = (block: number) =>
    [...tokens.keys()].filter((id) => kv.blockTable(id).includes(block)).length;
  const commit = (id: string, upTo: number) => {
    const t = tokens.get(id)!;
    const table = kv.blockTable(id);
    for (let p = kv.numComputedTokens(id); p < upTo; p++) {
      const block = table[Math.floor(p / blockSize)]!;
      assert.equal(owners(block), 1, `seed ${seed}: ${id} writes shared block ${block}`);
      content.get(block)![p % blockSize] = t[p]!;
    }
    kv.commitComputed(id, t, upTo);
  };
  const commitSome = (id: string) => {
    const done = kv.numComputedTokens(id);
    const limit = Math.min(tokens.get(id)!.length, kv.blockTable(id).length * blockSize);
    commit(id, done + int(limit - done + 1));
  };
  const pick = () => {
    const ids = [...tokens.keys()];
    return ids.length === 0 ? null : ids[int(ids.length)]!;
  };
  const refused = (before: ReturnType<KVCacheManager['stats']>, id: string, table?: readonly number[]) => {
    counts.nulls++;
    assert.deepEqual(kv.stats(), before);
    if (table) assert.deepEqual(kv.blockTable(id), table);
    else assert.equal(kv.has(id), false);
  };

  for (let op = 0; op < 4000; op++) {
    const r = random();
    const id = pick();
    if (r < 0.25 || id === null) {
      const newId = `s${nextId++}`;
      // Reuse the head of a live prompt half the time so that prefixes collide.
      const base =
        id !== null && random() < 0.5 ? tokens.get(id)!.slice(0, int(tokens.get(id)!.length + 1)) : [];
      const t = [...base, ...Array.from({ length: 1 + int(16) }, () => int(3))];
      const prefix = kv.findCachedPrefix(t);
      assert.ok(prefix.numTokens < t.length);
      const before = kv.stats();
      const res = kv.allocateSlots(newId, t.length, prefix);
      if (res === null) {
        refused(before, newId);
      } else {
        counts.admitted++;
        tokens.set(newId, t);
        apply(res);
        commitSome(newId);
      }
    } else if (r < 0.5) {
      const t = tokens.get(id)!;
      if (t.length === kv.numComputedTokens(id)) t.push(...Array.from({ length: 1 + int(6) }, () => int(3)));
      const table = [...kv.blockTable(id)];
      const before = kv.stats();
      const res = kv.allocateSlots(id, t.length);
      if (res === null) {
        refused(before, id, table);
        if (random() < 0.5 && tokens.delete(id)) kv.free(id); // preempt
      } else {
        apply(res);
        commitSome(id);
      }
    } else if (r < 0.65) {
      // Like a runtime step: allocateSlots before every write (it does the copy-on-write after a fork).
      const res = kv.allocateSlots(id, tokens.get(id)!.length);
      if (res !== null) {
        apply(res);
        commitSome(id);
      }
    } else if (r < 0.8) {
      const child = `s${nextId++}`;
      kv.fork(id, child);
      tokens.set(child, tokens.get(id)!.slice(0, kv.numComputedTokens(id)));
    } else {
      tokens.delete(id);
      assert.equal(kv.free(id), true);
    }

    kv.checkInvariants();
    let maxUsed = -1;
    for (const [sid, t] of tokens) {
      const table = kv.blockTable(sid);
      for (const b of table) maxUsed = Math.max(maxUsed, b);
      for (let p = 0; p < kv.numComputedTokens(sid); p++) {
        const got = content.get(table[Math.floor(p / blockSize)]!)![p % blockSize];
        assert.equal(got, t[p], `seed ${seed} op ${op}: ${sid} position ${p}`);
      }
    }
    assert.equal(kv.stats().maxUsedBlockId, maxUsed);
  }

  for (const id of tokens.keys()) kv.free(id);
  kv.checkInvariants();
  const end = kv.stats();
  assert.equal(end.usedBlocks, 0);
  assert.equal(end.freeBlocks, numBlocks);
  assert.equal(end.maxUsedBlockId, -1);
  return { ...counts, hitTokens: end.prefixHitTokens, cachedBlocks: end.cachedBlocks };
}

describe('KVCacheManager random operations', () => {
  for (const seed of [1, 2, 3]) {
    it(`keeps its invariants and block contents (seed ${seed})`, () => {
      const c = randomOps(seed, true);
      // The run must actually exercise the interesting paths.
      assert.ok(c.nulls > 0, 'no refused allocation');
      assert.ok(c.copies > 0, 'no copy-on-write');
      assert.ok(c.hitTokens > 0, 'no prefix hit');
      assert.ok(c.admitted > 100, 'too few sequences admitted');
    });
  }

  for (const tileBlocks of [2, 4]) {
    it(`keeps its invariants and block contents with tiles of ${tileBlocks} blocks`, () => {
      const c = randomOps(11 + tileBlocks, true, tileBlocks);
      assert.ok(c.nulls > 0, 'no refused allocation');
      assert.ok(c.copies > 0, 'no copy-on-write');
      assert.ok(c.hitTokens > 0, 'no prefix hit');
    });
  }

  it('keeps its invariants without prefix caching', () => {
    const c = randomOps(7, false);
    assert.equal(c.hitTokens, 0);
    assert.equal(c.cachedBlocks, 0);
    assert.ok(c.copies > 0);
  });
});
