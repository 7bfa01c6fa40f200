import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel, ModelLoadError } from '../../../runtime/model/index.ts';
import { TINY_MODEL_DIR } from '../../support/engine-harness.ts';

type Manifest = {
  architecture: Record<string, unknown>;
  files: Record<string, { path: string; sha256: string }>;
};

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('loadModel', { timeout: 60_000 }, () => {
  let root: string;
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'warmgate-load-model-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A copy of the tiny model folder that a test may break. */
  async function copyOfTiny(): Promise<string> {
    const dir = join(root, `m${n++}`);
    await cp(TINY_MODEL_DIR, dir, { recursive: true });
    return dir;
  }

  async function editManifest(dir: string, edit: (m: Manifest) => unknown): Promise<void> {
    const path = join(dir, 'model.json');
    const m = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    edit(m);
    await writeFile(path, JSON.stringify(m, null, 2));
  }

  async function refusal(dir: string): Promise<ModelLoadError> {
    try {
      const model = await loadModel(dir, { intraOpThreads: 1 });
      await model.release();
    } catch (e) {
      assert.ok(e instanceof ModelLoadError, `expected a ModelLoadError, got ${String(e)}`);
      return e;
    }
    assert.fail(`${dir} loaded, but should have been refused`);
  }

  it('loads the tiny model: manifest, identity and the engine graph', async () => {
    const model = await loadModel(TINY_MODEL_DIR, { intraOpThreads: 1 });
    try {
      assert.equal(model.manifest.architecture.context_length, 256);
      assert.equal(model.manifest.architecture.vocab_size, 257);
      assert.equal(model.manifest.tokenizer.eos_token_id, 256);
      const weights = await readFile(join(TINY_MODEL_DIR, model.manifest.files.weights.path));
      assert.equal(sha256(weights), model.manifest.files.weights.sha256);
      assert.ok(model.modelId.startsWith(`${model.manifest.name}@`));
      assert.ok(model.modelId.includes(model.manifest.files.engine.sha256.slice(0, 16)));
      for (const name of ['input_ids', 'positions', 'k_cache_0', 'v_cache_1', 'logits_index']) {
        assert.ok(model.engine!.inputNames.includes(name), name);
      }
    } finally {
      await model.release();
    }
  });

  it('a missing folder is model_not_found', async () => {
    const e = await refusal(join(root, 'no-such-model'));
    assert.equal(e.code, 'model_not_found');
  });

  it('a missing weights file is model_not_found', async () => {
    const dir = await copyOfTiny();
    await rm(join(dir, 'weights.bin'));
    const e = await refusal(dir);
    assert.equal(e.code, 'model_not_found');
    assert.match(e.message, /weights\.bin/);
  });

  it('a manifest that is not JSON is model_manifest_invalid', async () => {
    const dir = await copyOfTiny();
    const path = join(dir, 'model.json');
    await writeFile(path, (await readFile(path, 'utf8')).slice(0, 200));
    const e = await refusal(dir);
    assert.equal(e.code, 'model_manifest_invalid');
    assert.match(e.message, /not JSON/);
  });

  it('a manifest failing the schema is model_manifest_invalid, naming the problem', async () => {
    const broken: [string, (m: Manifest) => unknown, RegExp][] = [
      [
        'n_head not a multiple of n_kv_head',
        (m) => Object.assign(m.architecture, { n_kv_head: 3 }),
        /n_kv_head/,
      ],
      ['a missing field', (m) => Reflect.deleteProperty(m.architecture, 'd_ff'), /d_ff/],
      ['a negative size', (m) => Object.assign(m.architecture, { n_layer: -2 }), /n_layer/],
      ['a bad hash', (m) => Object.assign(m.files.weights!, { sha256: 'xyz' }), /sha256/],
    ];
    for (const [what, edit, names] of broken) {
      const dir = await copyOfTiny();
      await editManifest(dir, edit);
      const e = await refusal(dir);
      assert.equal(e.code, 'model_manifest_invalid', what);
      assert.match(e.message, names, what);
    }
  });

  it('a weights file with one flipped byte is model_file_corrupt', async () => {
    const dir = await copyOfTiny();
    const path = join(dir, 'weights.bin');
    const w = await readFile(path);
    w[Math.floor(w.length / 2)]! ^= 0x01;
    await writeFile(path, w);
    const e = await refusal(dir);
    assert.equal(e.code, 'model_file_corrupt');
    assert.match(e.message, /weights/);
  });

  it('an engine.onnx of garbage bytes with a matching sha256 is model_graph_invalid', async () => {
    const dir = await copyOfTiny();
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));
    await writeFile(join(dir, 'engine.onnx'), garbage);
    await editManifest(dir, (m) => Object.assign(m.files.engine!, { sha256: sha256(garbage) }));
    const e = await refusal(dir);
    assert.equal(e.code, 'model_graph_invalid');
  });

  it('a valid ONNX graph without the paged contract is model_graph_invalid', async () => {
    const dir = await copyOfTiny();
    // reference.onnx is a real graph, but takes only input_ids and keeps no cache.
    const reference = await readFile(join(dir, 'reference.onnx'));
    await writeFile(join(dir, 'engine.onnx'), reference);
    await editManifest(dir, (m) => Object.assign(m.files.engine!, { sha256: sha256(reference) }));
    const e = await refusal(dir);
    assert.equal(e.code, 'model_graph_invalid');
    assert.match(e.message, /k_cache_0/);
  });
});
