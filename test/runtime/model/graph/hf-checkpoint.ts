// A fixture checkpoint as the graph tests want it: the architecture, weights index and weights.bin bytes
// that the importer (runtime/model/import) writes for it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Architecture } from '../../../../runtime/model/architecture.ts';
import type { WeightIndex } from '../../../../runtime/model/graph/index.ts';
import { readHfModel, writeWeights } from '../../../../runtime/model/import/index.ts';

export async function readHfCheckpoint(
  dir: string,
): Promise<{ arch: Architecture; index: WeightIndex; bytes: Uint8Array }> {
  const model = await readHfModel(dir);
  const tmp = await mkdtemp(join(tmpdir(), 'wg-hf-checkpoint-'));
  try {
    const written = await writeWeights(model.plan, join(tmp, 'weights.bin'));
    const index: WeightIndex = written.index;
    return { arch: model.config.architecture, index, bytes: await readFile(join(tmp, 'weights.bin')) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
