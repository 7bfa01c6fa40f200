// Two gateways' registries on one real redis-server change one deployment's rollout at once: each change
// is applied to the deployment as stored when it is written (a compare-and-set), so neither is lost, as a
// last-writer-wins put of each registry's cached copy would lose one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  checkDeployment,
  DeploymentRegistry,
  type DeploymentSpec,
  RedisDeploymentStore,
} from '../../../gateway/deployments/index.ts';
import { rollout } from '../../../gateway/rollouts/index.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

const chat = checkDeployment({
  name: 'chat',
  kind: 'generative',
  model: { path: '/m/1' },
  versions: [
    { version: 2, model: { path: '/m/2' } },
    { version: 3, model: { path: '/m/3' } },
  ],
});

describe('DeploymentRegistry.update: concurrent rollout steps (real redis-server)', () => {
  let redis: RedisServer;
  const opened: RedisDeploymentStore[] = [];
  const registry = async () => {
    const store = new RedisDeploymentStore({ url: redis.url });
    opened.push(store);
    return DeploymentRegistry.open(store);
  };
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const s of opened) await s.close();
    await redis?.stop();
  });

  it("builds each step on the other's: both land in the history, in the order written", async () => {
    const a = await registry();
    const b = await registry();
    await a.put(chat);
    await b.resync();
    // b's cached copy is now stale for a's step; b's step must still see it.
    const stepA = a.update('chat', (d) => rollout(d, 2, 20, 1000));
    const stepB = b.update('chat', (d) => rollout(d, 3, 10, 2000));
    await Promise.all([stepA, stepB]);
    await a.resync();
    const stored = a.get('chat')!;
    const history = (stored.rollout?.history ?? []).map((e) => `${e.action} ${e.to}`);
    assert.equal(history.length, 2, JSON.stringify(history));
    assert.deepEqual(new Set(history), new Set(['rollout 2', 'rollout 3']));
    // The later write built on the earlier: the split is the last step applied to the first's result.
    const last = stored.rollout!.history!.at(-1)!;
    const weightOf = (d: DeploymentSpec, v: number) => d.traffic?.find((t) => t.version === v)?.weight ?? 0;
    assert.equal(weightOf(stored, last.to), last.to === 2 ? 20 : 10);
  });

  it('a change made from a stale copy is made again on the stored one (many writers at once)', async () => {
    const writers = await Promise.all(Array.from({ length: 4 }, registry));
    await writers[0]!.put(chat);
    for (const w of writers) await w.resync();
    // Every writer rolls version 2 out to its own weight from its own stale cache, all at once.
    const weights = writers.map((_, i) => 10 + i);
    await Promise.all(writers.map((w, i) => w.update('chat', (d) => rollout(d, 2, weights[i]!, 3000 + i))));
    await writers[0]!.resync();
    const history = writers[0]!.get('chat')!.rollout?.history ?? [];
    assert.equal(history.length, 4, 'every step landed (the put above started the history afresh)');
  });

  it('a change that returns its argument writes nothing', async () => {
    const a = await registry();
    const before = structuredClone(a.get('chat'));
    const after = await a.update('chat', (d) => d);
    assert.deepEqual(after, before);
  });

  it('an unknown deployment is deployment_not_found; what the change throws comes through', async () => {
    const a = await registry();
    await assert.rejects(
      a.update('nope', (d) => d),
      { code: 'deployment_not_found' },
    );
    await assert.rejects(
      a.update('chat', (d) => rollout(d, 9, 10, 0)),
      { code: 'version_not_found' },
    );
  });
});
