// A served Hugging Face model folder for tests, made from a fixture checkpoint of test/fixtures/hf: the
// graphs and weights.bin that the graph builder writes (test/runtime/model/graph), the checkpoint's text
// files beside them, and a model.json whose tokenizer is the checkpoint's. A stand-in for the importer
// (issue 17) until it is merged; then tests should import the fixture with it instead.
import { createHash } from 'node:crypto';
import { access, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfTokenizer } from '../../runtime/engine/text/index.ts';
import { readHfCheckpoint } from '../runtime/model/graph/hf-checkpoint.ts';
import { writeModelFolder } from '../runtime/model/graph/model-folder.ts';
import { HF_FIXTURES, type HfFamily } from './hf-golden.ts';

/** The text files a Hugging Face folder may hold, with the model.json files entry of each. */
const TEXT_FILES = [
  ['tokenizer.json', 'tokenizer'],
  ['tokenizer_config.json', 'tokenizer_config'],
  ['chat_template.jinja', 'chat_template'],
  ['generation_config.json', null],
] as const;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Writes the fixture `family` into `dir` as a loadable model folder named `name`. */
export async function writeHfModelFolder(
  family: HfFamily,
  dir: string,
  name: string = family,
): Promise<void> {
  const source = join(HF_FIXTURES, family);
  const { arch, index, bytes } = await readHfCheckpoint(source);
  await writeModelFolder(dir, arch, index, bytes, name);
  const files: Record<string, { path: string; sha256: string }> = {};
  for (const [file, role] of TEXT_FILES) {
    if (!(await exists(join(source, file)))) continue;
    await copyFile(join(source, file), join(dir, file));
    if (role !== null) files[role] = { path: file, sha256: sha256(await readFile(join(dir, file))) };
  }
  // The ids as the engine's tokenizer reads the files (generation_config.json's eos first).
  const tokenizer = await HfTokenizer.fromFolder(dir);
  const manifestPath = join(dir, 'model.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  manifest.tokenizer = {
    type: 'huggingface',
    vocab_size: arch.vocab_size,
    eos_token_id: tokenizer.eosTokenIds[0],
    eos_token_ids: tokenizer.eosTokenIds,
    bos_token_id: tokenizer.bosTokenId,
  };
  manifest.files = { ...(manifest.files as object), ...files };
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
}

/** A temporary folder holding the fixture as a model folder; `remove` deletes it. */
export async function tempHfModelFolder(
  family: HfFamily,
  name: string = family,
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `wg-hf-${family}-`));
  try {
    await writeHfModelFolder(family, dir, name);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
