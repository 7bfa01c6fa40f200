// Conversations' pins shared by gateway replicas through a real redis-server: a turn that reaches a
// replica which never routed its conversation goes to the instance the other replica chose (which holds
// its KV blocks); with Redis away routing goes on without the hint, and the turn does not wait for it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTrivialUpstream, type TrivialUpstream } from '../../../gateway/bench/trivial-upstream.ts';
import { InstanceTable } from '../../../gateway/instances/index.ts';
import { DEFAULT_ROUTING, RedisSessionShare, Router } from '../../../gateway/routing/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OPTIONS = { ...DEFAULT_ROUTING, blockTokens: 16, maxBlocks: 8 };

describe('session pins shared by replicas (real redis-server)', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let registry: InstanceTable;
  const upstreams: TrivialUpstream[] = [];
  const shares: RedisSessionShare[] = [];
  /** A replica's router with its own connection to the shared Redis, once connected. */
  const replica = async () => {
    const share = new RedisSessionShare({ url: redis.url });
    shares.push(share);
    const probe = `probe-${shares.length}`;
    for (let i = 0; i < 400 && (await share.lookup('probe', probe)) === null; i++) {
      share.record('probe', probe, 'x');
      await sleep(25);
    }
    return new Router(registry, OPTIONS, share);
  };
  before(async () => {
    redis = await startRedisServer();
    for (let i = 0; i < 3; i++) upstreams.push(await startTrivialUpstream());
    registry = new InstanceTable();
    for (const u of upstreams) await registry.add('m', u.url);
  });
  after(async () => {
    for (const s of shares) await s.close();
    await registry?.close();
    await Promise.all(upstreams.map((u) => u.stop()));
    await redis?.stop();
  });

  it("a conversation's next turn through another replica goes to the instance of its last turn", async () => {
    const a = await replica();
    const b = await replica();
    // Turns of several conversations through a, so they spread over the instances.
    const first = new Map<string, string>();
    for (let conv = 0; conv < 6; conv++) {
      const r = a.route('m', `conversation ${conv}: hello`, undefined, undefined, `c${conv}`)!;
      registry.startRequest(r.instance);
      first.set(`c${conv}`, r.instance.id);
    }
    for (const i of registry.all()) while (i.outstanding > 0) registry.endRequest(i);
    assert.ok(new Set(first.values()).size > 1, 'the conversations spread over instances');
    // The writes are in the background: wait until b can see the last one.
    const share = shares[1]!;
    for (let i = 0; i < 400 && (await share.lookup('m', '\u0000c5')) === null; i++) await sleep(25);
    for (const [conv, instance] of first) {
      await b.learnSession('m', conv);
      const r = b.route('m', `${conv} again`, undefined, undefined, conv)!;
      assert.deepEqual([r.instance.id, r.decision.reason], [instance, 'session'], conv);
    }
  });

  it('with Redis away a turn is routed at once, without the hint', async () => {
    const c = await replica();
    await redis.kill();
    const t0 = performance.now();
    await c.learnSession('m', 'never-seen');
    assert.ok(performance.now() - t0 < 1000, 'did not wait on the outage');
    const r = c.route('m', 'hello', undefined, undefined, 'never-seen');
    assert.ok(r, 'routed');
    assert.notEqual(r.decision.reason, 'session');
  });
});
