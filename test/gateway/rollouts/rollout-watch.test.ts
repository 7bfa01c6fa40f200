// The watch loop over a real registry (a file store): a canary whose requests fail is rolled back with the
// verdict's reason; a healthy one stays. The verdict itself is canary-verdict.test.ts's.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkDeployment,
  DeploymentRegistry,
  FileDeploymentStore,
} from '../../../gateway/deployments/index.ts';
import { MemoryVersionStats, rollout, startRolloutWatch } from '../../../gateway/rollouts/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const T0 = 1_700_000_000_000;

describe('rollout watch', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  const setUp = async (canaryErrorEvery: number) => {
    const dir = await mkdtemp(join(tmpdir(), 'wg-watch-'));
    dirs.push(dir);
    const registry = await DeploymentRegistry.open(new FileDeploymentStore(join(dir, 'deployments.json')));
    const spec = checkDeployment({
      name: 'chat',
      kind: 'generative',
      model: { path: '/m/1' },
      versions: [{ version: 2, model: { path: '/m/2' } }],
    });
    await registry.put(rollout(spec, 2, 50, T0));
    const stats = new MemoryVersionStats();
    const clock = new FakeClock(T0 + 120_000);
    const now = clock.now();
    for (let i = 0; i < 40; i++) {
      stats.note('chat', now - 30_000 + i * 500, false, 40);
      stats.note('chat@2', now - 30_000 + i * 500, canaryErrorEvery > 0 && i % canaryErrorEvery === 0, 40);
    }
    const stop = startRolloutWatch({
      deployments: registry,
      stats,
      ready: () => true,
      clock,
      intervalMs: 1000,
    });
    return { registry, clock, stop };
  };

  it('rolls back a canary whose error rate is past the margin, with the reason in the history', async () => {
    const { registry, clock, stop } = await setUp(4); // a quarter of the canary's requests fail
    using _ = clock;
    await clock.advance(1000);
    await registry.resync(); // the rollback's write has gone through (writes run in turn)
    stop();
    const d = registry.get('chat')!;
    assert.equal(d.traffic, undefined, 'every request back on the stable version');
    const last = d.rollout?.history?.at(-1);
    assert.equal(last?.action, 'rollback');
    assert.match(last?.reason ?? '', /^automatic: error rate 25.0% against the stable's 0.0%/);
  });

  it('leaves a healthy canary alone', async () => {
    const { registry, clock, stop } = await setUp(0);
    using _ = clock;
    await clock.advance(1000);
    await registry.resync();
    stop();
    assert.deepEqual(registry.get('chat')!.traffic, [
      { version: 1, weight: 50 },
      { version: 2, weight: 50 },
    ]);
  });
});
