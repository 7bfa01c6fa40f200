// GET /metadata's tokenizer and GET /tokenizer, on real instances: a Hugging Face model (the llama
// fixture as a model folder) serves its text files, checked against the fixture's files read here; a
// byte-level and a tensor model serve none (404 tokenizer_not_found); a loading instance answers 503.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelTextFrom } from '../../../runtime/engine/api.ts';
import { ERROR_CATALOG } from '../../../runtime/errors/index.ts';
import { createInstanceApp } from '../../../runtime/instance/app.ts';
import { RuntimeInstance } from '../../../runtime/instance/instance.ts';
import type { ServedTokenizer, TokenizerFilesBody } from '../../../runtime/instance/protocol.ts';
import { HF_FIXTURES, readHfGolden } from '../../support/hf-golden.ts';
import { tempHfModelFolder } from '../../support/hf-model-folder.ts';
import { MODELS } from './helpers.ts';

const LLAMA = join(HF_FIXTURES, 'llama');
const json = async (path: string) => JSON.parse(await readFile(join(LLAMA, path), 'utf8')) as unknown;

interface Metadata {
  tokenizer?: ServedTokenizer;
}

async function started(modelDir: string, kind: 'generative' | 'tensor' = 'generative') {
  const inst = new RuntimeInstance({
    modelDir,
    kind,
    engine: { kvCacheBytes: 1 << 20, intraOpThreads: 1 },
  });
  await inst.start();
  return { inst, app: createInstanceApp(inst) };
}

describe('an instance serves its tokenizer (real instances)', { timeout: 120_000 }, () => {
  const folders: { dir: string; remove(): Promise<void> }[] = [];
  const instances: RuntimeInstance[] = [];
  before(async () => {
    folders.push(await tempHfModelFolder('llama'), await tempHfModelFolder('llama', 'llama-copy'));
  });
  after(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await Promise.all(folders.map((f) => f.remove()));
  });

  it("a Hugging Face model: metadata names the files' sha256, GET /tokenizer serves the files", async () => {
    const { inst, app } = await started(folders[0]!.dir);
    instances.push(inst);
    const meta = (await (await app.request('/metadata')).json()) as Metadata;
    assert.equal(meta.tokenizer?.type, 'huggingface');
    const res = await app.request('/tokenizer');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const text = await res.text();
    const id = createHash('sha256').update(text).digest('hex');
    assert.deepEqual(meta.tokenizer, { type: 'huggingface', id });
    assert.equal(res.headers.get('etag'), `"${id}"`);
    // The fixture's own files, read here.
    const body = JSON.parse(text) as TokenizerFilesBody;
    assert.deepEqual(body, {
      tokenizer: await json('tokenizer.json'),
      tokenizerConfig: await json('tokenizer_config.json'),
      generationConfig: await json('generation_config.json'),
      chatTemplateJinja: await readFile(join(LLAMA, 'chat_template.jinja'), 'utf8'),
    });
    // What the gateway builds from them encodes as transformers did.
    const golden = readHfGolden('llama');
    const built = modelTextFrom(body);
    assert.deepEqual(built.tokenizer.encode(golden.prompts[0]!.text), golden.prompts[0]!.ids);
    assert.ok(built.chatTemplate);
  });

  it('another model folder with the same files reports the same id', async () => {
    const a = (await (await createInstanceApp(instances[0]!).request('/metadata')).json()) as Metadata;
    const { inst, app } = await started(folders[1]!.dir);
    instances.push(inst);
    const b = (await (await app.request('/metadata')).json()) as Metadata & { model: string };
    assert.equal(b.model, 'llama-copy');
    assert.deepEqual(b.tokenizer, a.tokenizer);
  });

  it('a byte-level model says so, and has no files: 404 tokenizer_not_found', async () => {
    const { inst, app } = await started(`${MODELS}tiny`);
    instances.push(inst);
    const meta = (await (await app.request('/metadata')).json()) as Metadata;
    assert.deepEqual(meta.tokenizer, { type: 'byte' });
    const res = await app.request('/tokenizer');
    assert.equal(res.status, ERROR_CATALOG.tokenizer_not_found.status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'tokenizer_not_found');
    assert.match(body.error.message, /byte-level/);
  });

  it('a tensor model names no tokenizer and has no files', async () => {
    const { inst, app } = await started(`${MODELS}classifier`, 'tensor');
    instances.push(inst);
    const meta = (await (await app.request('/metadata')).json()) as Metadata;
    assert.equal(meta.tokenizer, undefined);
    const body = (await (await app.request('/tokenizer')).json()) as { error: { code: string } };
    assert.equal(body.error.code, 'tokenizer_not_found');
  });

  it('a loading instance answers 503 engine_draining, as GET /metadata does', async () => {
    const inst = new RuntimeInstance({ modelDir: folders[0]!.dir, kind: 'generative' });
    instances.push(inst);
    const res = await createInstanceApp(inst).request('/tokenizer');
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'engine_draining');
  });
});
