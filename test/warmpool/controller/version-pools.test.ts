import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDeployment } from '../../../gateway/deployments/index.ts';
import { shareOfTarget, versionPools } from '../../../warmpool/controller/version-pools.ts';

const d = checkDeployment({
  name: 'chat',
  kind: 'generative',
  model: { path: '/m/1' },
  scaling: { minInstances: 1, maxInstances: 8 },
  versions: [
    { version: 2, model: { path: '/m/2' } },
    { version: 3, model: { path: '/m/3' } },
  ],
  traffic: [
    { version: 1, weight: 80 },
    { version: 2, weight: 20 },
  ],
});

describe('version pools', () => {
  it('one pool per version, sized for its share: the canary for its declared weight before it is ready', () => {
    const cold = versionPools(d, (pool) => pool === 'chat');
    assert.deepEqual(
      cold.map((p) => [p.spec.name, p.spec.model, p.share]),
      [
        ['chat', { path: '/m/1' }, 100],
        ['chat@2', { path: '/m/2' }, 20],
        ['chat@3', { path: '/m/3' }, 0],
      ],
    );
    const warm = versionPools(d, () => true);
    assert.deepEqual(
      warm.map((p) => p.share),
      [80, 20, 0],
    );
  });

  it("a pool's target is its share of the whole, at least one while it has a share, within its bounds", () => {
    const scaling = d.scaling;
    assert.equal(shareOfTarget(10, 100, scaling, 0), 10);
    assert.equal(shareOfTarget(10, 20, scaling, 0), 2);
    assert.equal(shareOfTarget(0, 20, scaling, 0), 1, 'a canary warms before any request');
    assert.equal(shareOfTarget(40, 50, scaling, 0), 8, 'held to maxInstances');
    assert.equal(shareOfTarget(10, 0, scaling, 0), 0, 'a version of no weight drains');
    assert.equal(shareOfTarget(10, 0, scaling, 3), 1, 'unless requests pinned to it wait');
    assert.equal(
      shareOfTarget(10, 0, scaling, 0, scaling.keepAliveMs - 1),
      1,
      'or it served within its keep-alive',
    );
    assert.equal(shareOfTarget(10, 0, scaling, 0, scaling.keepAliveMs), 0);
  });
});
