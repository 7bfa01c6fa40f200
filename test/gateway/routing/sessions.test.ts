// Sessions: a conversation's turns stay on the instance of its previous turn while that instance is
// within the affinity slack, where prefix affinity cannot tell conversations apart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTrivialUpstream, type TrivialUpstream } from '../../../gateway/bench/trivial-upstream.ts';
import { InstanceTable } from '../../../gateway/instances/index.ts';
import {
  chooseInstance,
  chooseInstanceForSession,
  DEFAULT_ROUTING,
  type RouteCandidate,
  Router,
} from '../../../gateway/routing/index.ts';

const BLOCK = 16;
const c = (id: string, outstanding = 0, kvUsagePct = 10): RouteCandidate => ({
  id,
  outstanding,
  waiting: 0,
  kvUsagePct,
});
const NO_MATCHES = new Map<string, number>();

describe('chooseInstanceForSession (pure)', () => {
  const fallback = (cands: RouteCandidate[]) => () => chooseInstance(cands, NO_MATCHES, DEFAULT_ROUTING, 0);

  it('keeps the pinned instance within the slack, with no prompt match at all', () => {
    const cands = [c('a', 0), c('b', 2)];
    assert.deepEqual(chooseInstanceForSession(cands, 'b', NO_MATCHES, DEFAULT_ROUTING, fallback(cands)), {
      id: 'b',
      reason: 'session',
      matchedBlocks: 0,
    });
  });

  it('lets the session move when its instance is overloaded, nearly full, gone, or routing is round-robin', () => {
    const busy = [c('a', 0), c('b', 3)];
    assert.equal(chooseInstanceForSession(busy, 'b', NO_MATCHES, DEFAULT_ROUTING, fallback(busy))!.id, 'a');
    const full = [c('a', 0), c('b', 0, 96)];
    assert.equal(chooseInstanceForSession(full, 'b', NO_MATCHES, DEFAULT_ROUTING, fallback(full))!.id, 'a');
    const gone = [c('a', 0)];
    assert.equal(chooseInstanceForSession(gone, 'b', NO_MATCHES, DEFAULT_ROUTING, fallback(gone))!.id, 'a');
    const rr = { ...DEFAULT_ROUTING, policy: 'round-robin' as const };
    assert.equal(
      chooseInstanceForSession([c('a'), c('b')], 'b', NO_MATCHES, rr, () => ({
        id: 'a',
        reason: 'round-robin',
        matchedBlocks: 0,
      }))!.reason,
      'round-robin',
    );
  });
});

describe('router: sessions against prefix affinity (mock instances: trivial upstreams)', () => {
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

  // A system prompt longer than the blocks the index hashes (maxBlocks): every conversation looks alike.
  const MAX_BLOCKS = 8;
  const system = 's'.repeat(MAX_BLOCKS * BLOCK);
  const turns = (conv: number, n: number) =>
    system + Array.from({ length: n }, (_, t) => `${conv}/${t}:`.padEnd(BLOCK * 2, '.')).join('');

  it("keeps each conversation's turns on one instance where prefix affinity scatters them", () => {
    const spread = (session: boolean) => {
      const router = new Router(registry, { ...DEFAULT_ROUTING, blockTokens: BLOCK, maxBlocks: MAX_BLOCKS });
      const where = new Map<number, Set<string>>();
      for (let t = 1; t <= 4; t++) {
        // One round: every conversation's next turn in flight at once, so load spreads them.
        const inFlight = [];
        for (let conv = 0; conv < 6; conv++) {
          const r = router.route(
            'm',
            turns(conv, t),
            undefined,
            undefined,
            session ? `conv-${conv}` : undefined,
          );
          assert.ok(r);
          registry.startRequest(r.instance);
          inFlight.push(r.instance);
          if (!where.has(conv)) where.set(conv, new Set());
          where.get(conv)!.add(r.instance.id);
        }
        for (const i of inFlight) registry.endRequest(i);
      }
      return [...where.values()].map((s) => s.size);
    };
    assert.deepEqual(spread(true), [1, 1, 1, 1, 1, 1], 'with sessions: one instance per conversation');
    assert.ok(
      spread(false).some((n) => n > 1),
      'without: the index sees only the shared system prompt, so turns move',
    );
  });

  it('keys a session by adapter too: the same id under another adapter is another conversation', () => {
    const router = new Router(registry, { ...DEFAULT_ROUTING, blockTokens: BLOCK, maxBlocks: MAX_BLOCKS });
    const first = router.route('m', 'hello', undefined, undefined, 'x')!;
    assert.equal(router.route('m', 'hello again', undefined, undefined, 'x')!.instance.id, first.instance.id);
    assert.equal(router.route('m', 'hello again', undefined, undefined, 'x')!.decision.reason, 'session');
    assert.notEqual(router.route('m', 'hi', undefined, 'lora-a', 'x')!.decision.reason, 'session');
  });
});
