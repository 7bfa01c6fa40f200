// The router's prefix index over a registry of mock instances (trivial upstreams over loopback, no engine,
// no KV cache; the router needs only their endpoints and load reports): it must
// remember a conversation for longer than a small fleet's KV caches keep its early blocks. An index of
// twice the fleet's blocks forgot it, and cost a third of the prefix hits on the Mooncake replay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTrivialUpstream, type TrivialUpstream } from '../../../gateway/bench/trivial-upstream.ts';
import { InstanceTable } from '../../../gateway/instances/index.ts';
import { DEFAULT_ROUTING, Router } from '../../../gateway/routing/index.ts';

const BLOCK = 16;

describe('router: prefix memory (mock instances: trivial upstreams)', () => {
  let upstreams: TrivialUpstream[] = [];
  let registry: InstanceTable;
  before(async () => {
    upstreams = await Promise.all([0, 1, 2, 3].map(() => startTrivialUpstream()));
    registry = new InstanceTable();
    for (const u of upstreams) await registry.add('m', u.url);
  });
  after(async () => {
    await registry?.close();
    await Promise.all(upstreams.map((u) => u.stop()));
  });

  it('a conversation goes back to its instance after 10,000 other prompt blocks', () => {
    const router = new Router(registry, { ...DEFAULT_ROUTING, blockTokens: BLOCK, maxBlocks: 64 });
    const turn1 = 'c'.repeat(20 * BLOCK);
    const first = router.route('m', turn1);
    assert.ok(first);
    // 500 prompts of 20 blocks each, none sharing a first block with another or with the conversation.
    for (let i = 0; i < 500; i++) {
      const other = router.route('m', `${i}:`.padEnd(BLOCK, '.') + 'x'.repeat(19 * BLOCK));
      assert.ok(other);
    }
    const turn2 = router.route('m', turn1 + 'd'.repeat(2 * BLOCK));
    assert.ok(turn2);
    assert.equal(turn2.decision.reason, 'affinity');
    assert.equal(turn2.decision.matchedBlocks, 20);
    assert.equal(turn2.instance.id, first.instance.id);
  });

  it("a Hugging Face model's conversation is matched in blocks of its tokens, not of its bytes", () => {
    const router = new Router(registry, { ...DEFAULT_ROUTING, blockTokens: BLOCK, maxBlocks: 64 });
    // 5 blocks of ids (a prompt whose text would be far longer in bytes), then 3 more in the next turn.
    const ids = Array.from({ length: 5 * BLOCK }, (_, i) => 30_000 + i);
    const prompt = (n: readonly number[]) => ({ ids: n, tokenizerId: 'llama', text: '' });
    const first = router.route('m', prompt(ids));
    assert.ok(first);
    const next = Array.from({ length: 3 * BLOCK }, (_, i) => 40_000 + i);
    const turn2 = router.route('m', prompt([...ids, ...next]));
    assert.ok(turn2);
    assert.equal(turn2.decision.reason, 'affinity');
    assert.equal(turn2.decision.matchedBlocks, 5);
    assert.equal(turn2.instance.id, first.instance.id);
  });
});
