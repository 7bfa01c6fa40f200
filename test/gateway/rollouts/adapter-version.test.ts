// An adapter runs on the version of its base that the same client's base-model requests get: during a
// base's canary each client sees one base, under its adapters too; a version not ready takes neither.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkDeployment,
  DeploymentRegistry,
  FileDeploymentStore,
} from '../../../gateway/deployments/index.ts';
import { generationTarget } from '../../../gateway/dispatch/generation-target.ts';

describe("an adapter's base version", () => {
  it("follows its base's split per client, as the base's own requests do", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-adapter-version-'));
    const store = new FileDeploymentStore(join(dir, 'deployments.json'));
    try {
      const registry = await DeploymentRegistry.open(store);
      await registry.put(
        checkDeployment({
          name: 'chat',
          kind: 'generative',
          model: { path: '/m/1' },
          runtime: { adapters: { slots: 4, maxRank: 8 } },
          versions: [{ version: 2, model: { path: '/m/2' } }],
          traffic: [
            { version: 1, weight: 50 },
            { version: 2, weight: 50 },
          ],
        }),
      );
      await registry.put(
        checkDeployment({ name: 'tone', kind: 'adapter', base: 'chat', model: { path: '/a' } }),
      );
      const pick = (client: string, ready = (_: string) => true) => ({ client: () => client, ready });
      const pools = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const base = generationTarget(registry, 'chat', pick(`s:${i}`))!;
        const adapter = generationTarget(registry, 'tone', pick(`s:${i}`))!;
        assert.equal(adapter.pool, base.pool, `client ${i}: the adapter runs where its base-model calls do`);
        assert.equal(adapter.adapter?.path, '/a');
        pools.add(adapter.pool);
      }
      assert.deepEqual([...pools].sort(), ['chat', 'chat@2'], 'both versions serve some clients');
      // A version with no ready instance takes no adapter request either.
      const onlyStable = (pool: string) => pool === 'chat';
      for (let i = 0; i < 40; i++)
        assert.equal(generationTarget(registry, 'tone', pick(`s:${i}`, onlyStable))!.pool, 'chat');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
