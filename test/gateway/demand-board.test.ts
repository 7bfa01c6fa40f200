// Gateway replicas' demand reports over a real redis-server: what the leading controller sees of the
// others, first-token summaries included (capacity at the SLO).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DemandBoard } from '../../gateway/demand-board/index.ts';
import { until } from '../faults/support.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

describe('DemandBoard over Redis', { timeout: 30_000 }, () => {
  let redis: RedisServer;
  const boards: DemandBoard[] = [];
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const b of boards) await b.close();
    await redis?.stop();
  });

  it('sums the other replicas’ requests and merges their first tokens to the slowest p90', async () => {
    const board = (replicaId: string) => {
      const b = new DemandBoard({ redisUrl: redis.url, replicaId });
      boards.push(b);
      return b;
    };
    const leader = board('leader');
    const a = board('a');
    const b = board('b');
    // Subscriptions are asynchronous: announce until the leader has heard both.
    await until(
      () => {
        a.announce({ m: { inFlight: 3, queued: 1, firstToken: { count: 12, p90Ms: 250 } } });
        b.announce({
          m: { inFlight: 2, queued: 0, lastRequestAt: 1000, firstToken: { count: 8, p90Ms: 900 } },
        });
        const r = leader.remote('m');
        return r.inFlight === 5 ? r : undefined;
      },
      'both replicas heard',
      5000,
    );
    assert.deepEqual(leader.remote('m'), {
      inFlight: 5,
      queued: 1,
      lastRequestAt: 1000,
      firstToken: { count: 20, p90Ms: 900 },
    });
    assert.deepEqual(
      leader.remote('other'),
      { inFlight: 0, queued: 0 },
      'nothing for a deployment no one serves',
    );
    // A replica does not count its own report: a hears only b.
    await until(() => (a.remote('m').inFlight === 2 ? true : undefined), 'a to hear b alone', 5000);
    assert.equal(a.remote('m').queued, 0);
  });
});
