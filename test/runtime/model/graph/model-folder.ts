import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Architecture, resolveArchitecture } from '../../../../runtime/model/architecture.ts';
import { buildGraphs, type WeightIndex } from '../../../../runtime/model/graph/index.ts';
import type { ModelManifest } from '../../../../runtime/model/index.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A model folder loadModel accepts, from an architecture, a weights index and the weights' bytes (or a
 * weights.bin to copy, or the folder's own weights.bin): weights.bin, the three graphs buildGraphs
 * writes, and a model.json whose hashes match. The manifest's tokenizer is a placeholder (byte-level; the
 * manifest knows no other yet).
 */
export async function writeModelFolder(
  dir: string,
  arch: Architecture,
  index: WeightIndex,
  weights: Uint8Array | { copyFrom: string },
  name = 'graph-test',
  dtype: ModelManifest['dtype'] = 'float32',
): Promise<void> {
  const weightsPath = join(dir, 'weights.bin');
  if (weights instanceof Uint8Array) await writeFile(weightsPath, weights);
  else if (weights.copyFrom !== weightsPath) await copyFile(weights.copyFrom, weightsPath);
  const graphs = buildGraphs(resolveArchitecture(arch), index, 'weights.bin', name);
  const files: Record<string, Uint8Array> = {
    engine: graphs.engine,
    reference: graphs.reference,
    decode_contiguous: graphs.decodeContiguous,
  };
  const manifestFiles: Record<string, { path: string; sha256: string }> = {};
  for (const [role, bytes] of Object.entries(files)) {
    await writeFile(join(dir, `${role}.onnx`), bytes);
    manifestFiles[role] = { path: `${role}.onnx`, sha256: sha256(bytes) };
  }
  manifestFiles.weights = { path: 'weights.bin', sha256: sha256(await readFile(weightsPath)) };
  const manifest = {
    format: 'warmgate-model/1',
    name,
    architecture: arch,
    tokenizer: { type: 'byte', vocab_size: arch.vocab_size, eos_token_id: arch.vocab_size - 1 },
    kv_layout: {
      type: 'paged',
      key: ['block', 'kv_head', 'head_dim', 'slot'],
      value: ['block', 'kv_head', 'slot', 'head_dim'],
      dtype: 'float32',
    },
    dtype,
    files: manifestFiles,
  };
  await writeFile(join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
}
