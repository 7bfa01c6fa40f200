// The PEFT adapter loader: the fixtures load with the scale folded into B, and every adapter the engine
// cannot serve exactly is refused at load with a stable code (bad files made in a temp dir from a good one).
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdapterError, type AdapterErrorCode, loadPeftAdapter } from '../../../runtime/adapters/index.ts';
import { type ResolvedArchitecture, resolveArchitecture } from '../../../runtime/model/architecture.ts';
import { readConfig } from '../../../runtime/model/import/index.ts';
import { HF_FIXTURES } from '../../support/hf-golden.ts';
import { LORA_SPEC, loraDir } from '../../support/lora-fixtures.ts';

describe('PEFT adapter loader', () => {
  let arch: ResolvedArchitecture;
  let tmp: string;
  let n = 0;
  before(async () => {
    arch = resolveArchitecture((await readConfig(join(HF_FIXTURES, 'llama'))).architecture);
    tmp = await mkdtemp(join(tmpdir(), 'wg-peft-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  /** A copy of lora-r8-all changed by `edit`; returns its folder. */
  async function variant(
    edit: (dir: string, config: Record<string, unknown>) => Promise<void> | void,
  ): Promise<string> {
    const dir = join(tmp, `v${n++}`);
    await cp(loraDir('lora-r8-all'), dir, { recursive: true });
    const config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    await edit(dir, config);
    await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(config));
    return dir;
  }

  async function refused(
    dir: string,
    code: AdapterErrorCode,
    mentions: RegExp,
    spec = LORA_SPEC,
  ): Promise<void> {
    await assert.rejects(loadPeftAdapter(dir, arch, spec), (e: unknown) => {
      assert.ok(e instanceof AdapterError, `an AdapterError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, mentions);
      return true;
    });
  }

  it('loads both fixtures: ranks, targets, alpha/r folded into B', async () => {
    const a = await loadPeftAdapter(loraDir('lora-r8-all'), arch, LORA_SPEC);
    assert.equal(a.rank, 8);
    assert.equal(a.scale, 2);
    assert.equal(a.targets.length, 7);
    assert.equal(a.layers.length, arch.n_layer);
    const q = a.layers[0]!.get('q_proj')!;
    assert.equal(q.a.length, 8 * arch.d_model);
    assert.equal(q.b.length, arch.n_head * arch.head_dim * 8);
    const b = await loadPeftAdapter(loraDir('lora-r4-qv'), arch, LORA_SPEC);
    assert.deepEqual([...b.targets].sort(), ['q_proj', 'v_proj']);
    assert.equal(b.scale, 2);
    assert.notEqual(a.digest, b.digest);
  });

  it('use_rslora scales by alpha / sqrt(r)', async () => {
    const dir = await variant((_, c) => {
      c.use_rslora = true;
    });
    assert.equal((await loadPeftAdapter(dir, arch, LORA_SPEC)).scale, 16 / Math.sqrt(8));
  });

  it('rank above 64, or above the instance maximum: adapter_rank_too_large', async () => {
    await refused(await variant((_, c) => void (c.r = 65)), 'adapter_rank_too_large', /r is 65.*up to 8/);
    await refused(loraDir('lora-r8-all'), 'adapter_rank_too_large', /r is 8.*up to 4/, {
      ...LORA_SPEC,
      maxRank: 4,
    });
  });

  it('shapes of another base model: adapter_base_mismatch', async () => {
    const against = (other: ResolvedArchitecture, mentions: RegExp) =>
      assert.rejects(loadPeftAdapter(loraDir('lora-r8-all'), other, LORA_SPEC), (e: unknown) => {
        assert.equal((e as AdapterError).code, 'adapter_base_mismatch', (e as Error).message);
        assert.match((e as AdapterError).message, mentions);
        return true;
      });
    await against({ ...arch, d_model: 48 }, /has shape \[\d+, \d+\]; the base model and r=8 need/);
    await against({ ...arch, n_layer: 1 }, /layer 1, but the base model has 1 layers/);
    await against({ ...arch, n_layer: 3 }, /no lora_A for layer 2/);
  });

  it('unknown or unserved target modules: adapter_unsupported', async () => {
    await refused(
      await variant((_, c) => void (c.target_modules = ['q_proj', 'lm_head'])),
      'adapter_unsupported',
      /lm_head/,
    );
    await refused(
      await variant((_, c) => void (c.target_modules = '.*proj')),
      'adapter_unsupported',
      /not a pattern/,
    );
    await refused(
      loraDir('lora-r8-all'),
      'adapter_unsupported',
      /is not among this instance's adapter targets/,
      {
        ...LORA_SPEC,
        targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      },
    );
  });

  it('modules_to_save and DoRA: adapter_unsupported', async () => {
    await refused(
      await variant((_, c) => void (c.modules_to_save = ['lm_head'])),
      'adapter_unsupported',
      /modules_to_save/,
    );
    await refused(await variant((_, c) => void (c.use_dora = true)), 'adapter_unsupported', /DoRA/);
  });

  it('a truncated or corrupt safetensors file: adapter_file_corrupt; a missing one: adapter_not_found', async () => {
    const cut = await variant(async (dir) => truncate(join(dir, 'adapter_model.safetensors'), 4000));
    await refused(cut, 'adapter_file_corrupt', /adapter_model\.safetensors/);
    const garbage = await variant(async (dir) =>
      writeFile(join(dir, 'adapter_model.safetensors'), Buffer.from('not a safetensors file at all')),
    );
    await refused(garbage, 'adapter_file_corrupt', /safetensors/);
    const gone = await variant(async (dir) => rm(join(dir, 'adapter_model.safetensors')));
    await refused(gone, 'adapter_not_found', /adapter_model\.safetensors/);
  });

  it('a config that is not JSON: adapter_config_invalid', async () => {
    const dir = join(tmp, 'badjson');
    await cp(loraDir('lora-r4-qv'), dir, { recursive: true });
    await writeFile(join(dir, 'adapter_config.json'), '{"r": 4,');
    await refused(dir, 'adapter_config_invalid', /not JSON/);
  });
});
