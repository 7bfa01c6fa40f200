import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseInstance,
  chooseInstanceForAdapter,
  DEFAULT_ROUTING,
  prefixBlockHashes,
  PrefixIndex,
  type RouteCandidate,
} from '../../../gateway/routing/index.ts';

const idle = (id: string, outstanding = 0, kvUsagePct = 10): RouteCandidate => ({
  id,
  outstanding,
  waiting: 0,
  kvUsagePct,
});

describe('prefix block hashes', () => {
  it('hash i covers the whole prefix up to block i: equal prefixes give equal leading hashes', () => {
    const a = prefixBlockHashes('x'.repeat(32) + 'AAAA'.repeat(4), 16, 64);
    const b = prefixBlockHashes('x'.repeat(32) + 'BBBB'.repeat(4), 16, 64);
    assert.equal(a.length, 3);
    assert.deepEqual(a.slice(0, 2), b.slice(0, 2));
    assert.notEqual(a[2], b[2]);
    // Same block content after a different first block: different hash (chained, not per block).
    const c = prefixBlockHashes('y'.repeat(16) + 'x'.repeat(16), 16, 64);
    assert.notEqual(c[1], a[1]);
  });

  it('hashes full blocks only, at most maxBlocks, over UTF-8 bytes', () => {
    assert.equal(prefixBlockHashes('x'.repeat(15), 16, 64).length, 0);
    assert.equal(prefixBlockHashes('x'.repeat(1000), 16, 8).length, 8);
    assert.equal(prefixBlockHashes('€'.repeat(6), 16, 64).length, 1); // 18 bytes
  });

  it("token ids hash in blocks of tokens; a byte model's ids (its bytes) hash as its text", () => {
    for (const text of ['x'.repeat(40), 'Café au lait 日本 👋 '.repeat(5), '€'.repeat(33)]) {
      const bytes = Array.from(Buffer.from(text, 'utf8'));
      assert.deepEqual(prefixBlockHashes(bytes, 16, 64), prefixBlockHashes(text, 16, 64));
    }
    // A Hugging Face model's ids: 40 ids are 2 blocks, whatever their text's length.
    const ids = Array.from({ length: 40 }, (_, i) => 1000 + i);
    assert.equal(prefixBlockHashes(ids, 16, 64).length, 2);
    // Ids above a byte count whole: 256 is not 0, 128_000 not 128_000 & 0xff.
    const other = [...ids];
    other[20] = other[20]! + 256;
    const h = prefixBlockHashes(ids, 16, 64);
    const g = prefixBlockHashes(other, 16, 64);
    assert.equal(h[0], g[0]);
    assert.notEqual(h[1], g[1]);
    assert.notDeepEqual(prefixBlockHashes([128_000], 1, 1), prefixBlockHashes([128_000 & 0xff], 1, 1));
  });
});

describe('prefix index', () => {
  it('matches the longest prefix each instance was sent', () => {
    const idx = new PrefixIndex();
    const p = prefixBlockHashes('s'.repeat(64), 16, 64); // 4 blocks
    const q = prefixBlockHashes('s'.repeat(32) + 't'.repeat(32), 16, 64);
    idx.record(p, 'a');
    idx.record(q.slice(0, 3), 'b');
    const m = idx.match(q);
    assert.equal(m.get('a'), 2); // shares the first two blocks with p
    assert.equal(m.get('b'), 3);
    idx.forget('b');
    assert.equal(idx.match(q).get('b'), undefined);
  });

  it('is bounded: the least recently used hashes go first', () => {
    const idx = new PrefixIndex(4);
    idx.record([1, 2], 'a');
    idx.record([3, 4], 'a');
    idx.record([1], 'a'); // touches 1
    idx.record([5], 'a'); // evicts 2, the oldest
    assert.equal(idx.size, 4);
    assert.equal(idx.match([1, 2]).get('a'), 1);
    assert.equal(idx.match([3, 4]).get('a'), 2);
  });

  it('takes a smaller bound: the least recently used go at the next record', () => {
    const idx = new PrefixIndex(8);
    idx.record([1, 2, 3, 4, 5, 6], 'a');
    idx.capacity = 3;
    assert.equal(idx.size, 6, 'nothing goes until the next record');
    idx.record([7], 'a');
    assert.equal(idx.size, 3);
    assert.equal(idx.match([5, 6, 7]).get('a'), 3, 'the three most recent stay');
    assert.equal(idx.match([4]).get('a'), undefined, '1 to 4 went');
    assert.equal(idx.match([1]).get('a'), undefined);
  });
});

describe('choosing an instance', () => {
  it('prefix policy goes where the longest prefix is cached', () => {
    const d = chooseInstance(
      [idle('a'), idle('b'), idle('c')],
      new Map([
        ['b', 3],
        ['c', 1],
      ]),
      DEFAULT_ROUTING,
      0,
    );
    assert.deepEqual(d, { id: 'b', reason: 'affinity', matchedBlocks: 3 });
  });

  it('falls back to the least loaded when affinity would overload its instance', () => {
    const slack = DEFAULT_ROUTING.affinitySlack;
    const within = chooseInstance([idle('a', 0), idle('b', slack)], new Map([['b', 5]]), DEFAULT_ROUTING, 0);
    assert.equal(within?.id, 'b');
    const over = chooseInstance(
      [idle('a', 0), idle('b', slack + 1)],
      new Map([['b', 5]]),
      DEFAULT_ROUTING,
      0,
    );
    assert.deepEqual(over, { id: 'a', reason: 'least-load', matchedBlocks: 0 });
  });

  it('no affinity when it saves too few blocks over the least loaded instance', () => {
    const one = chooseInstance([idle('a', 0), idle('b', 1)], new Map([['b', 1]]), DEFAULT_ROUTING, 0);
    assert.equal(one?.id, 'a'); // a shared first block is not worth a busier instance
    const shared = chooseInstance(
      [idle('a', 0), idle('b', 1)],
      new Map([
        ['a', 3],
        ['b', 4],
      ]),
      DEFAULT_ROUTING,
      0,
    );
    assert.equal(shared?.id, 'a');
    const worth = chooseInstance(
      [idle('a', 0), idle('b', 1)],
      new Map([
        ['a', 1],
        ['b', 3],
      ]),
      DEFAULT_ROUTING,
      0,
    );
    assert.deepEqual(worth, { id: 'b', reason: 'affinity', matchedBlocks: 3 });
  });

  it('no affinity to an instance whose KV cache is nearly full', () => {
    const d = chooseInstance([idle('a'), idle('b', 0, 99)], new Map([['b', 5]]), DEFAULT_ROUTING, 0);
    assert.equal(d?.id, 'a');
  });

  it('without a match, the least loaded; ties rotate with the turn', () => {
    const cands = [idle('a', 2), idle('b', 0), idle('c', 0)];
    const picks = [0, 1, 2, 3].map((t) => chooseInstance(cands, new Map(), DEFAULT_ROUTING, t)?.id);
    assert.ok(picks.every((p) => p === 'b' || p === 'c'));
    assert.ok(picks.includes('b') && picks.includes('c'));
    const waiting = chooseInstance(
      [{ id: 'x', outstanding: 1, waiting: 5, kvUsagePct: 0 }, idle('y', 2)],
      new Map(),
      DEFAULT_ROUTING,
      0,
    );
    assert.equal(waiting?.id, 'y'); // queued work at the engine counts
  });

  it('round-robin ignores matches and load', () => {
    const opts = { ...DEFAULT_ROUTING, policy: 'round-robin' as const };
    const cands = [idle('a', 9), idle('b'), idle('c')];
    const ids = [0, 1, 2, 3].map((t) => chooseInstance(cands, new Map([['b', 9]]), opts, t)?.id);
    assert.deepEqual(ids, ['a', 'b', 'c', 'a']);
  });

  it('no candidates, no decision', () => {
    assert.equal(chooseInstance([], new Map(), DEFAULT_ROUTING, 0), null);
  });
});

describe('routing under an adapter', () => {
  const none = new Map<string, number>();
  it('prefers an instance that holds the adapter, within the affinity slack of the least loaded', () => {
    const c = [idle('a', 0), idle('b', 1), idle('c', 2)];
    const d = chooseInstanceForAdapter(c, new Set(['b']), none, DEFAULT_ROUTING, 0)!;
    assert.deepEqual([d.id, d.reason], ['b', 'adapter']);
    // Among holders, the least loaded.
    const two = chooseInstanceForAdapter(c, new Set(['b', 'c']), none, DEFAULT_ROUTING, 0)!;
    assert.equal(two.id, 'b');
  });

  it('loads it on the least loaded instance when every holder is busier than the slack allows', () => {
    const c = [idle('a', 0), idle('b', DEFAULT_ROUTING.affinitySlack + 1)];
    const d = chooseInstanceForAdapter(c, new Set(['b']), none, DEFAULT_ROUTING, 0)!;
    assert.deepEqual([d.id, d.reason], ['a', 'least-load']);
  });

  it('routes as usual when no instance holds it, or when the usual choice holds it', () => {
    const c = [idle('a', 1), idle('b', 0)];
    assert.deepEqual(
      chooseInstanceForAdapter(c, new Set(), none, DEFAULT_ROUTING, 0),
      chooseInstance(c, none, DEFAULT_ROUTING, 0),
    );
    assert.equal(chooseInstanceForAdapter(c, new Set(['b']), none, DEFAULT_ROUTING, 0)!.reason, 'least-load');
    assert.equal(chooseInstanceForAdapter([], new Set(['a']), none, DEFAULT_ROUTING, 0), null);
  });

  it('keys prefix hashes by adapter: one prompt under two adapters shares no block', () => {
    const prompt = 'x'.repeat(64);
    const base = prefixBlockHashes(prompt, 16, 64);
    const a = prefixBlockHashes(prompt, 16, 64, 'a@1');
    const b = prefixBlockHashes(prompt, 16, 64, 'b@1');
    assert.equal(a.length, base.length);
    for (let i = 0; i < a.length; i++) assert.ok(a[i] !== b[i] && a[i] !== base[i]);
    assert.deepEqual(prefixBlockHashes(prompt, 16, 64, 'a@1'), a);
  });
});
