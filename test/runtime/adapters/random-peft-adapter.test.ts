// The random adapters bench:lora loads are PEFT folders the loader reads as it reads PEFT's own.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadPeftAdapter, writeRandomPeftAdapter } from '../../../runtime/adapters/index.ts';
import { resolveArchitecture } from '../../../runtime/model/architecture.ts';
import { readManifest } from '../../../runtime/model/index.ts';

describe('random PEFT adapters (bench:lora)', () => {
  it('load as PEFT adapters of the demo model: rank, targets, every layer, the same bytes for one seed', async () => {
    const arch = resolveArchitecture((await readManifest('runtime/models/demo')).architecture);
    const dir = await mkdtemp(join(tmpdir(), 'wg-random-peft-'));
    try {
      const targets = ['q_proj', 'v_proj'] as const;
      const spec = { maxRank: 16, targets: [...targets] };
      await writeRandomPeftAdapter(join(dir, 'a'), arch, { rank: 8, targets, seed: 7 });
      await writeRandomPeftAdapter(join(dir, 'b'), arch, { rank: 8, targets, seed: 7 });
      await writeRandomPeftAdapter(join(dir, 'c'), arch, { rank: 8, targets, seed: 8 });
      const [a, b, c] = await Promise.all(
        ['a', 'b', 'c'].map((n) => loadPeftAdapter(join(dir, n), arch, spec)),
      );
      assert.equal(a!.rank, 8);
      assert.equal(a!.scale, 2, 'lora_alpha 2r over r');
      assert.deepEqual([...a!.targets].sort(), ['q_proj', 'v_proj']);
      assert.equal(a!.layers.length, arch.n_layer);
      assert.equal(a!.digest, b!.digest, 'one seed, one adapter');
      assert.notEqual(a!.digest, c!.digest);
      const q = a!.layers[0]!.get('q_proj')!;
      assert.equal(q.a.length, 8 * arch.d_model);
      assert.ok(q.a.some((x) => x !== 0) && q.b.some((x) => x !== 0), 'A and B are not zero');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
