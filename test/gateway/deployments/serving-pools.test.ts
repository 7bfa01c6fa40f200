import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDeployment, type DeploymentSpec, servingPoolsOf } from '../../../gateway/deployments/index.ts';

const chat = (extra: Partial<DeploymentSpec> = {}): DeploymentSpec =>
  checkDeployment({
    name: 'chat',
    kind: 'generative',
    model: { path: '/m/1' },
    runtime: { adapters: { slots: 2, maxRank: 8 } },
    ...extra,
  });
const lookup = (specs: DeploymentSpec[]) => (name: string) => specs.find((d) => d.name === name);

describe('servingPoolsOf: the pools health, readiness and the ready gauge count', () => {
  it('a deployment without versions: its own pool', () => {
    assert.deepEqual(servingPoolsOf(chat(), lookup([])), ['chat']);
  });

  it('with a split: every version given a weight, not version 1 alone', () => {
    const d = chat({
      versions: [
        { version: 2, model: { path: '/m/2' } },
        { version: 3, model: { path: '/m/3' } },
      ],
      traffic: [
        { version: 1, weight: 0 },
        { version: 2, weight: 90 },
        { version: 3, weight: 10 },
      ],
    });
    assert.deepEqual(servingPoolsOf(d, lookup([d])), ['chat@2', 'chat@3']);
  });

  it('a stable version other than 1, no split: that version', () => {
    const d = chat({ version: 4 });
    assert.deepEqual(servingPoolsOf(d, lookup([d])), ['chat@4']);
  });

  it("an adapter: its base's serving pools", () => {
    const base = chat({
      versions: [{ version: 2, model: { path: '/m/2' } }],
      traffic: [{ version: 2, weight: 100 }],
    });
    const adapter = checkDeployment({
      name: 'tone',
      kind: 'adapter',
      base: 'chat',
      model: { path: '/a/tone' },
    });
    assert.deepEqual(servingPoolsOf(adapter, lookup([base, adapter])), ['chat@2']);
  });
});
