// The import as a whole: a complete model folder appears only when everything succeeded; an existing
// folder is replaced only on request; the command line reports what it did (real files, real process).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImportError, importModel } from '../../../../runtime/model/import/index.ts';
import { loadModel, readManifest } from '../../../../runtime/model/index.ts';
import { HF_FIXTURES } from '../../../support/hf-golden.ts';

const run = promisify(execFile);
const MAIN = new URL('../../../../runtime/model/import/main.ts', import.meta.url).pathname;

describe('importModel: the folder appears whole or not at all', { timeout: 120_000 }, () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'wg-import-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('writes a folder loadModel accepts, with the tokenizer, template and every eos id', async () => {
    const out = join(tmp, 'llama3');
    const r = await importModel(join(HF_FIXTURES, 'llama3'), out);
    const m = await readManifest(out);
    assert.deepEqual(m.tokenizer, {
      type: 'huggingface',
      vocab_size: 512,
      eos_token_id: 1,
      eos_token_ids: [1, 4],
      bos_token_id: 0,
    });
    assert.equal(m.source?.model_type, 'llama');
    assert.ok(m.files.chat_template && m.files.tokenizer && m.files.tokenizer_config);
    assert.equal(r.manifest.name, 'llama3');
    const model = await loadModel(out, { intraOpThreads: 1 });
    try {
      assert.deepEqual(model.text.tokenizer.eosTokenIds.toSorted(), [1, 4]);
      assert.ok(model.text.chatTemplate, 'the chat template was carried over');
    } finally {
      await model.release();
    }
  });

  it('refuses to overwrite an existing folder unless forced, and leaves it as it was', async () => {
    const out = join(tmp, 'existing');
    await importModel(join(HF_FIXTURES, 'gpt2'), out);
    const before = await readFile(join(out, 'model.json'), 'utf8');
    await assert.rejects(importModel(join(HF_FIXTURES, 'qwen2'), out), (e: ImportError) => {
      assert.equal(e.code, 'output_failed');
      assert.match(e.message, /already exists.*--force/);
      return true;
    });
    assert.equal(await readFile(join(out, 'model.json'), 'utf8'), before);
    await importModel(join(HF_FIXTURES, 'qwen2'), out, { force: true });
    assert.equal((await readManifest(out)).source?.model_type, 'qwen2');
  });

  it('a failure after the weights are written leaves no folder and no partial files', async () => {
    const src = join(tmp, 'broken-tokenizer');
    await cp(join(HF_FIXTURES, 'llama'), src, { recursive: true });
    // Valid JSON, so every check before the heavy work passes; the tokenizer library refuses it later.
    await writeFile(join(src, 'tokenizer.json'), JSON.stringify({ model: { type: 'NoSuchModel' } }));
    const out = join(tmp, 'never');
    await assert.rejects(importModel(src, out), (e: ImportError) => e.code === 'tokenizer_invalid');
    const left = (await readdir(tmp)).filter((f) => f.includes('never'));
    assert.deepEqual(left, [], 'nothing named after the output remains');
  });

  it('the command line imports and reports size, time and peak memory; bad use is one clear line', async () => {
    const out = join(tmp, 'cli-mistral');
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      MAIN,
      join(HF_FIXTURES, 'mistral'),
      '--out',
      out,
      '--json',
    ]);
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(summary.model_type, 'mistral');
    assert.ok((summary.peak_rss_mb as number) > 0 && (summary.seconds as number) > 0);
    assert.ok((summary.parameters as number) > 0);
    const bad = await run(process.execPath, ['--import', 'tsx', MAIN, join(HF_FIXTURES, 'mistral')]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((bad as { code: number }).code, 2);
    assert.match((bad as { stderr: string }).stderr, /needs one model folder and --out/);
    const refused = await run(process.execPath, [
      '--import',
      'tsx',
      MAIN,
      join(tmp, 'nope'),
      '--out',
      join(tmp, 'x'),
    ]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((refused as { code: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /model_dir_invalid: .*nope is not a folder/);
  });
});
