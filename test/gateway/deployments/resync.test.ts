// Two processes' registries on one store (here two registries on one real redis-server): what one writes
// the other picks up on resync, with the same change events; while Redis is away the last view stays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  type DeploymentChange,
  DeploymentRegistry,
  RedisDeploymentStore,
} from '../../../gateway/deployments/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { generative, tensor } from './fixtures.ts';

describe('DeploymentRegistry.resync (real redis-server)', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
  });

  it("picks up another registry's puts, replacements and deletes, and nothing else", async () => {
    const storeA = new RedisDeploymentStore({ url: redis.url });
    const storeB = new RedisDeploymentStore({ url: redis.url });
    const a = await DeploymentRegistry.open(storeA);
    const b = await DeploymentRegistry.open(storeB);
    const seen: string[] = [];
    b.onChange((c: DeploymentChange) => seen.push(`${c.type} ${c.spec.name}`));
    await a.put(generative('chat'));
    await a.put(tensor('vision'));
    await b.resync();
    assert.deepEqual(seen.sort(), ['put chat', 'put vision']);
    assert.deepEqual(
      b.list().map((d) => d.name),
      ['chat', 'vision'],
    );
    // The input schema is compiled on b as well: function bodies are checked there.
    assert.equal(b.validateInput('chat', { nope: 1 }).ok, false);

    seen.length = 0;
    await b.resync(); // nothing changed: no events
    assert.deepEqual(seen, []);

    await a.put(generative('chat', { batching: { maxRunningSeqs: 8 } }));
    await a.delete('vision');
    await b.resync();
    assert.deepEqual(seen.sort(), ['delete vision', 'put chat']);
    assert.equal(b.get('chat')?.batching?.maxRunningSeqs, 8);
    assert.equal(b.get('vision'), undefined);

    await redis.stop();
    await assert.rejects(b.resync());
    assert.deepEqual(
      b.list().map((d) => d.name),
      ['chat'],
      'the last view stays while Redis is away',
    );
    await redis.restart();
    await storeA.close();
    await storeB.close();
  });

  it('a Redis that lost its data is refilled from the last view, not taken as every deployment deleted', async () => {
    const storeA = new RedisDeploymentStore({ url: redis.url, keyPrefix: 'lost:' });
    const storeB = new RedisDeploymentStore({ url: redis.url, keyPrefix: 'lost:' });
    const logged: string[] = [];
    const a = await DeploymentRegistry.open(storeA, { log: (m) => logged.push(m) });
    await a.put(generative('chat'));
    await a.put(tensor('vision'));
    await a.resync();
    assert.equal(await storeA.intact(), true);

    const admin = new Redis(redis.url);
    await admin.flushall(); // what a restart without persistence leaves
    await a.resync();
    assert.deepEqual(
      a.list().map((d) => d.name),
      ['chat', 'vision'],
      'kept',
    );
    assert.match(logged.join('\n'), /lost its data/);
    const b = await DeploymentRegistry.open(storeB);
    assert.deepEqual(
      b.list().map((d) => d.name),
      ['chat', 'vision'],
      'written back for every replica',
    );

    // Deleting every deployment on purpose leaves the marker: the other replica follows the deletes.
    await b.delete('chat');
    await b.delete('vision');
    await a.resync();
    assert.deepEqual(a.list(), []);
    admin.disconnect();
    await storeA.close();
    await storeB.close();
  });
});
