// A served Hugging Face model folder for tests: a fixture checkpoint of test/fixtures/hf imported with
// `warmgate import`'s code (runtime/model/import), as a user would serve it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importModel } from '../../runtime/model/import/index.ts';
import { HF_FIXTURES, type HfFamily } from './hf-golden.ts';

/** Imports the fixture `family` into `dir` (which must not exist yet) as a model named `name`. */
export async function writeHfModelFolder(
  family: HfFamily,
  dir: string,
  name: string = family,
): Promise<void> {
  await importModel(join(HF_FIXTURES, family), dir, { name });
}

/** A temporary folder holding the imported fixture; `remove` deletes it. */
export async function tempHfModelFolder(
  family: HfFamily,
  name: string = family,
): Promise<{ dir: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `wg-hf-${family}-`));
  const dir = join(root, 'model');
  try {
    await writeHfModelFolder(family, dir, name);
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
  return { dir, remove: () => rm(root, { recursive: true, force: true }) };
}
