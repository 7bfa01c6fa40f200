import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDeployment } from '../../../gateway/deployments/index.ts';
import {
  canaryOf,
  judgeCanary,
  promote,
  rollback,
  rollout,
  MemoryVersionStats,
  withDeclaredRollout,
} from '../../../gateway/rollouts/index.ts';

const v1 = checkDeployment({
  name: 'chat',
  kind: 'generative',
  model: { path: '/m/1' },
  scaling: { minInstances: 1 },
  versions: [{ version: 2, model: { path: '/m/2' }, scaling: { maxInstances: 2 } }],
});

describe('rollout steps (pure, explicit time)', () => {
  it('rollout, promote, rollback: each a valid spec, each step in the history', () => {
    const canary = checkDeployment(rollout(v1, 2, 20, 1000));
    assert.deepEqual(canary.traffic, [
      { version: 1, weight: 80 },
      { version: 2, weight: 20 },
    ]);
    assert.equal(canaryOf(canary), 2);

    const promoted = checkDeployment(promote(canary, 2000));
    assert.equal(promoted.version, 2);
    assert.deepEqual(promoted.model, { path: '/m/2' });
    assert.equal(promoted.scaling.maxInstances, 2);
    assert.equal(promoted.traffic, undefined, 'all traffic to the new stable');
    assert.deepEqual(
      promoted.versions?.map((v) => [v.version, v.model]),
      [[1, { path: '/m/1' }]],
      'the former stable is kept for a rollback',
    );

    const back = checkDeployment(rollback(promoted, 3000, 'by hand'));
    assert.equal(back.version, 1);
    assert.deepEqual(back.model, { path: '/m/1' });
    assert.deepEqual(
      back.rollout?.history?.map((e) => [e.at, e.action, e.from, e.to]),
      [
        [1000, 'rollout', 1, 2],
        [2000, 'promote', 1, 2],
        [3000, 'rollback', 2, 1],
      ],
    );
  });

  it('a rollback with a canary in the split sends everything to the stable version', () => {
    const back = rollback(rollout(v1, 2, 50, 1000), 2000, 'automatic: error rate');
    assert.equal(back.traffic, undefined);
    assert.equal(back.version ?? 1, 1);
    assert.equal(back.rollout?.history?.at(-1)?.reason, 'automatic: error rate');
  });

  it('refuses steps that make no sense, with the code and what to do', () => {
    assert.throws(() => rollout(v1, 2, 101, 0), { code: 'invalid_request', param: 'weight' });
    assert.throws(() => rollout(v1, 1, 10, 0), { code: 'invalid_request', message: /already the stable/ });
    assert.throws(() => rollout(v1, 5, 10, 0), { code: 'version_not_found' });
    assert.throws(() => promote(v1, 0), { code: 'invalid_request', message: /no canary to promote/ });
    assert.throws(() => rollback(v1, 0), { code: 'invalid_request', message: /nothing|no canary/ });
  });

  it('a canary declared in a put deployment is recorded as rolled out then, once', () => {
    const declared = checkDeployment({
      ...v1,
      traffic: [
        { version: 1, weight: 90 },
        { version: 2, weight: 10 },
      ],
    });
    const put = withDeclaredRollout(v1, declared, 5000);
    assert.deepEqual(
      put.rollout?.history?.map((e) => [e.at, e.action, e.from, e.to, e.weight, e.reason]),
      [[5000, 'rollout', 1, 2, 10, 'declared in the deployment']],
    );
    // Put again as it is (or with the step already in its history): nothing new.
    assert.equal(withDeclaredRollout(put, declared, 9000), declared);
    assert.equal(withDeclaredRollout(undefined, put, 9000), put);
    // Its weight changed by hand: a new step.
    const moved = checkDeployment({
      ...put,
      traffic: [
        { version: 1, weight: 50 },
        { version: 2, weight: 50 },
      ],
    });
    assert.equal(withDeclaredRollout(put, moved, 9000).rollout?.history?.at(-1)?.weight, 50);
    // No canary: nothing to record.
    assert.equal(withDeclaredRollout(undefined, v1, 9000), v1);
  });

  it("the canary's progress deadline runs from the declared step, not from when it is read", () => {
    const put = withDeclaredRollout(
      undefined,
      checkDeployment({
        ...v1,
        traffic: [
          { version: 1, weight: 90 },
          { version: 2, weight: 10 },
        ],
        rollout: { analysis: { progressDeadlineMs: 60_000 } },
      }),
      0,
    );
    const neverReady = (pool: string) => pool === 'chat';
    assert.notEqual(judgeCanary(put, new MemoryVersionStats(), neverReady, 30_000)?.action, 'rollback');
    assert.equal(judgeCanary(put, new MemoryVersionStats(), neverReady, 61_000)?.action, 'rollback');
  });
});
