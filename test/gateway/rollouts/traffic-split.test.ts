import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDeployment, type DeploymentSpec } from '../../../gateway/deployments/index.ts';
import {
  chooseVersion,
  effectiveTraffic,
  splitModelName,
  stickyPoint,
  versionAt,
} from '../../../gateway/rollouts/index.ts';

const spec = (extra: Partial<DeploymentSpec> = {}): DeploymentSpec =>
  checkDeployment({
    name: 'chat',
    kind: 'generative',
    model: { path: '/m/1' },
    versions: [
      { version: 2, model: { path: '/m/2' } },
      { version: 3, model: { path: '/m/3' } },
    ],
    traffic: [
      { version: 1, weight: 80 },
      { version: 2, weight: 20 },
    ],
    ...extra,
  });

describe('traffic split', () => {
  it('counts a version only while it has a ready instance: its weight goes to the stable one', () => {
    const d = spec();
    assert.deepEqual(
      effectiveTraffic(d, () => true),
      [
        { version: 1, weight: 80 },
        { version: 2, weight: 20 },
      ],
    );
    assert.deepEqual(
      effectiveTraffic(d, (v) => v !== 2),
      [{ version: 1, weight: 100 }],
    );
    // The stable version itself is never held back: it is where the traffic falls back to.
    assert.deepEqual(
      effectiveTraffic(d, () => false),
      [{ version: 1, weight: 100 }],
    );
  });

  it('lays the slices out in order: a point picks the slice that holds it', () => {
    const split = [
      { version: 1, weight: 80 },
      { version: 2, weight: 20 },
    ];
    assert.equal(versionAt(split, 0), 1);
    assert.equal(versionAt(split, 0.7999), 1);
    assert.equal(versionAt(split, 0.8), 2);
    assert.equal(versionAt(split, 0.9999), 2);
    assert.equal(versionAt([], 0.5), null);
  });

  it('a client keeps its point, and 20% of many clients land on a 20% canary', () => {
    assert.equal(stickyPoint('k:0123456789ab'), stickyPoint('k:0123456789ab'));
    const d = spec();
    let canary = 0;
    for (let i = 0; i < 10_000; i++) {
      const choice = chooseVersion(d, undefined, `s:client-${i}`, () => true);
      assert.equal(choice.pool, choice.version === 1 ? 'chat' : `chat@${choice.version}`);
      if (choice.version === 2) canary++;
    }
    assert.ok(canary > 1800 && canary < 2200, `about 2000 of 10000: ${canary}`);
    // Raising the canary's weight moves clients onto it, never one of its clients off it.
    const wider = spec({
      traffic: [
        { version: 1, weight: 50 },
        { version: 2, weight: 50 },
      ],
    });
    for (let i = 0; i < 1000; i++) {
      const id = `s:client-${i}`;
      if (chooseVersion(d, undefined, id, () => true).version === 2)
        assert.equal(chooseVersion(wider, undefined, id, () => true).version, 2);
    }
  });

  it('a pin picks its version whatever the split; bad pins are named', () => {
    const d = spec();
    assert.deepEqual(
      chooseVersion(d, 3, null, () => false),
      { version: 3, pool: 'chat@3' },
    );
    assert.deepEqual(splitModelName('chat@2'), { name: 'chat', version: 2 });
    assert.deepEqual(splitModelName('chat'), { name: 'chat' });
    assert.throws(() => splitModelName('chat@two'), { code: 'version_not_found' });
    assert.throws(() => chooseVersion(d, 9, null, () => true), { code: 'version_not_found' });
    // Version 2 promoted, version 1 dropped: 1 is retired (410), 9 never was (404).
    const later = checkDeployment({
      name: 'chat',
      kind: 'generative',
      version: 2,
      model: { path: '/m/2' },
      versions: [{ version: 3, model: { path: '/m/3' } }],
    });
    assert.throws(() => chooseVersion(later, 1, null, () => true), { code: 'version_retired' });
    assert.throws(() => chooseVersion(later, 9, null, () => true), { code: 'version_not_found' });
  });

  it('refuses a split that does not add up or names an unlisted version', () => {
    assert.throws(
      () =>
        spec({
          traffic: [
            { version: 1, weight: 80 },
            { version: 2, weight: 30 },
          ],
        }),
      {
        code: 'deployment_invalid',
        param: 'traffic',
        message: /sum to 100, not 110/,
      },
    );
    assert.throws(
      () =>
        spec({
          traffic: [
            { version: 1, weight: 80 },
            { version: 7, weight: 20 },
          ],
        }),
      {
        code: 'deployment_invalid',
        message: /version 7, which is not listed/,
      },
    );
    assert.throws(() => spec({ versions: [{ version: 2, model: { path: '' } }] }), {
      code: 'deployment_invalid',
      param: /^versions\.0\.model/,
    });
    assert.throws(() => spec({ versions: [{ version: 1, model: { path: '/m' } }], traffic: undefined }), {
      message: /version 1 is listed twice/,
    });
  });
});
