import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashBlock, hashFullBlocks, KVCacheManager } from '../../../runtime/engine/kv/index.ts';

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

function manager(): KVCacheManager {
  return new KVCacheManager({ numBlocks: 10, blockSize: 4, modelId: 'm', enablePrefixCaching: true });
}

/** First allocation as the scheduler does it: look up the prefix, then allocate the whole prompt. */
function admit(kv: KVCacheManager, id: string, tokens: number[]) {
  const prefix = kv.findCachedPrefix(tokens);
  const res = kv.allocateSlots(id, tokens.length, prefix);
  assert.ok(res, `allocation for ${id} failed`);
  return { prefix, res };
}

describe('block hashes', () => {
  it('chain full blocks only and key on the model id', () => {
    const tokens = range(1, 10);
    const hashes = hashFullBlocks(tokens, 4, 'm');
    assert.equal(hashes.length, 2);
    assert.match(hashes[0]!, /^[0-9a-f]{64}$/);
    assert.equal(hashes[0], hashBlock(null, [1, 2, 3, 4], 'm'));
    assert.equal(hashes[1], hashBlock(hashes[0]!, [5, 6, 7, 8], 'm'));
    assert.deepEqual(hashFullBlocks(tokens, 4, 'm', 7), [hashes[0]]);
    // Same tokens: another model or another parent is another block.
    assert.notEqual(hashBlock(null, [1, 2, 3, 4], 'other'), hashes[0]);
    assert.notEqual(hashBlock(null, [5, 6, 7, 8], 'm'), hashes[1]);
    assert.notDeepEqual(hashFullBlocks(tokens, 4, 'other'), hashes);
  });
});

describe('prefix cache scenario (blockSize 4, 10 blocks)', () => {
  it('hits, evicts least recently freed first and tail first, and leaves a token to compute', () => {
    const kv = manager();
    const a = range(1, 10);
    const first = admit(kv, 'A', a);
    assert.deepEqual(first.prefix, { blocks: [], numTokens: 0 });
    assert.deepEqual(first.res.newBlocks, [0, 1, 2]);
    kv.commitComputed('A', a, 10);
    kv.free('A');
    // Blocks 0 and 1 are full and cached; 2 was partial and went back to the plain free heap.
    assert.deepEqual(
      { free: kv.stats().freeBlocks, cached: kv.stats().cachedBlocks, used: kv.stats().usedBlocks },
      { free: 10, cached: 2, used: 0 },
    );

    const b = [...a.slice(0, 8), 21, 22, 23, 24];
    const second = admit(kv, 'B', b);
    assert.deepEqual(second.prefix.blocks, [0, 1]);
    assert.equal(second.prefix.numTokens, 8);
    assert.deepEqual(second.res.newBlocks, [2]);
    assert.deepEqual(kv.blockTable('B'), [0, 1, 2]);
    assert.equal(kv.numComputedTokens('B'), 8);
    kv.commitComputed('B', b, 12);
    kv.free('B'); // LRU: 2, 1, 0

    const c = range(100, 24);
    assert.deepEqual(admit(kv, 'C', c).res.newBlocks, [3, 4, 5, 6, 7, 8]);
    kv.commitComputed('C', c, 24);
    kv.free('C'); // LRU: 2, 1, 0, 8, 7, 6, 5, 4, 3; plain: 9
    assert.equal(kv.stats().cachedBlocks, 9);

    // A prompt fully covered by cached blocks still computes its last block.
    const full = kv.findCachedPrefix(c);
    assert.deepEqual(full.blocks, [3, 4, 5, 6, 7]);
    assert.equal(full.numTokens, 20);
    assert.deepEqual(kv.findCachedPrefix(c.slice(0, 21)).blocks, [3, 4, 5, 6, 7]);
    assert.deepEqual(kv.findCachedPrefix(c.slice(0, 1)).blocks, []);

    // Plain free block first, then the least recently freed cached blocks: B's tail before its head.
    assert.deepEqual(admit(kv, 'D', range(200, 12)).res.newBlocks, [9, 2, 1]);
    assert.deepEqual(kv.findCachedPrefix(b).blocks, [0]);
    assert.deepEqual(kv.findCachedPrefix(a).blocks, [0]);

    // A hit takes C's blocks off the LRU, so the next eviction skips them and takes block 0.
    const e = [...c, 300];
    const hit = admit(kv, 'E', e);
    assert.deepEqual(hit.prefix.blocks, [3, 4, 5, 6, 7, 8]);
    assert.deepEqual(hit.res.newBlocks, [0]);
    assert.deepEqual(kv.findCachedPrefix(a).blocks, []);
    assert.equal(kv.stats().cachedBlocks, 0);
    assert.equal(kv.allocateSlots('F', 1), null);

    const s = kv.stats();
    assert.equal(s.prefixQueriedTokens, 10 + 12 + 24 + 12 + 25);
    assert.equal(s.prefixHitTokens, 8 + 24);
    assert.equal(s.usedBlocks, 10);
    assert.equal(s.maxUsedBlockId, 9);
    kv.checkInvariants();
  });

  it('recomputing a cached block keeps the first copy as the cached one', () => {
    const kv = manager();
    const t = range(1, 8);
    admit(kv, 'A', t);
    kv.commitComputed('A', t, 8);
    kv.free('A'); // LRU: 1, 0
    const again = admit(kv, 'B', t);
    assert.deepEqual(again.prefix.blocks, [0]);
    assert.deepEqual(kv.blockTable('B'), [0, 2]);
    kv.commitComputed('B', t, 8); // block 2 duplicates block 1 and stays unhashed
    kv.free('B');
    assert.equal(kv.stats().cachedBlocks, 2);
    assert.deepEqual(kv.findCachedPrefix([...t, 9]).blocks, [0, 1]);
    kv.checkInvariants();
  });

  it('a stale prefix is refused, and reset drops the cache', () => {
    const kv = new KVCacheManager({ numBlocks: 2, blockSize: 4, modelId: 'm', enablePrefixCaching: true });
    const t = range(1, 5);
    admit(kv, 'A', t);
    kv.commitComputed('A', t, 5);
    kv.free('A');
    const prefix = kv.findCachedPrefix(t);
    assert.deepEqual(prefix.blocks, [0]);
    assert.ok(kv.allocateSlots('X', 8)); // takes plain block 1, then evicts block 0
    assert.throws(() => kv.allocateSlots('B', 5, prefix), /stale cachedPrefix/);
    assert.equal(kv.has('B'), false);
    kv.free('X');
    kv.reset();
    assert.deepEqual(kv.findCachedPrefix(t).blocks, []);
    assert.equal(kv.stats().freeBlocks, 2);
    assert.equal(kv.stats().cachedBlocks, 0);
  });

  it('finds nothing with prefix caching disabled', () => {
    const kv = new KVCacheManager({ numBlocks: 10, blockSize: 4, modelId: 'm', enablePrefixCaching: false });
    const t = range(1, 10);
    admit(kv, 'A', t);
    kv.commitComputed('A', t, 10);
    kv.free('A');
    assert.deepEqual(kv.findCachedPrefix(t).blocks, []);
    assert.equal(kv.stats().cachedBlocks, 0);
    assert.deepEqual(admit(kv, 'B', t).res.newBlocks, [0, 1, 2]);
  });
});

describe('tile-affine allocation', () => {
  it('keeps a growing sequence in its own tile and starts new sequences on wholly free tiles', () => {
    const kv = new KVCacheManager({
      numBlocks: 16,
      blockSize: 2,
      modelId: 'm',
      enablePrefixCaching: true,
      tileBlocks: 4,
    });
    // Two sequences growing in turn, one block at a time.
    for (let n = 2; n <= 8; n += 2) {
      assert.ok(kv.allocateSlots('a', n));
      assert.ok(kv.allocateSlots('b', n));
    }
    assert.deepEqual(kv.blockTable('a'), [0, 1, 2, 3]);
    assert.deepEqual(kv.blockTable('b'), [4, 5, 6, 7]);
  });

  it('evicts a cached tile whole rather than scatter a new sequence into used tiles', () => {
    const kv = new KVCacheManager({
      numBlocks: 8,
      blockSize: 2,
      modelId: 'm',
      enablePrefixCaching: true,
      tileBlocks: 4,
    });
    const tokens = [1, 2, 3, 4, 5, 6, 7, 8];
    assert.ok(kv.allocateSlots('a', 8));
    kv.commitComputed('a', tokens, 8);
    kv.free('a'); // tile 0 is now four cached blocks
    assert.ok(kv.allocateSlots('b', 2)); // b takes tile 1
    assert.deepEqual(kv.blockTable('b'), [4]);
    assert.ok(kv.allocateSlots('c', 2)); // no wholly free tile left: c takes cached tile 0 whole
    assert.deepEqual(kv.blockTable('c'), [0]);
    assert.equal(
      kv.findCachedPrefix([...tokens, 9]).numTokens,
      0,
      'block 0 was evicted, so the chain breaks',
    );
    kv.checkInvariants();
  });
});
