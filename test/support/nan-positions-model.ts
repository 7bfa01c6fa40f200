// A model folder that loads, warms up and then fails its requests: the kind of broken export only
// serving finds. A copy of the tiny model whose learned position embedding is NaN from position `from`
// on, its weights' sha256 in model.json updated to match (the file is what the export wrote, not corrupt).
// The instance's warm-up runs positions 0 and 1 only, so it becomes ready; any request whose tokens reach
// position `from` gets NaN logits, which the sampler refuses: the engine fails the step and the request
// ends with engine_step_failed (a 500).
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveArchitecture } from '../../runtime/model/architecture.ts';
import { weightIndexOfGraph } from '../../runtime/model/graph/index.ts';
import { readManifest } from '../../runtime/model/index.ts';
import { decodeModel } from '../../runtime/model/onnx/index.ts';
import { MODELS } from './platform.ts';

/** A temporary copy of the tiny model, NaN at positions `from` and past; `remove` deletes it. */
export async function nanPositionsModel(from: number): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'wg-nan-positions-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await cp(join(MODELS, 'tiny'), dir, { recursive: true });
    const manifest = await readManifest(dir);
    const arch = resolveArchitecture(manifest.architecture);
    const graph = decodeModel(await readFile(join(dir, manifest.files.engine.path)));
    const { index, location } = weightIndexOfGraph(graph, arch);
    const pos = index.pos_emb;
    if (pos?.dtype !== 'float32') throw new Error('the tiny model stores a float32 pos_emb');
    const weights = await readFile(join(dir, location));
    const rows = new Float32Array(weights.buffer, weights.byteOffset + pos.offset, pos.byteLength / 4);
    rows.fill(Number.NaN, from * arch.d_model);
    await writeFile(join(dir, location), weights);
    const raw = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
      files: { weights: { sha256: string } };
    };
    raw.files.weights.sha256 = createHash('sha256').update(weights).digest('hex');
    await writeFile(join(dir, 'model.json'), JSON.stringify(raw, null, 2));
  } catch (e) {
    await remove();
    throw e;
  }
  return { dir, remove };
}
