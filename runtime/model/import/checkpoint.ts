import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ImportError, shown } from './import-error.ts';
import { readSafetensorsHeader, type TensorEntry } from './safetensors.ts';

/** Every tensor of a checkpoint by name, whichever file holds it; headers only, no data read. */
export interface Checkpoint {
  readonly files: readonly string[];
  readonly tensors: ReadonlyMap<string, TensorEntry>;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/**
 * Opens a Hugging Face checkpoint as transformers looks for it: model.safetensors, else the shards that
 * model.safetensors.index.json's weight_map names. Every shard's header is read and checked; a shard that
 * is absent, or a tensor its shard does not hold, is refused before any data is read.
 */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const present = new Set(await listDir(dir));
  if (present.has(SINGLE)) {
    const file = join(dir, SINGLE);
    return { files: [file], tensors: await readSafetensorsHeader(file) };
  }
  if (present.has(INDEX)) return openSharded(dir, present);
  const others = [...present].filter((f) => f.endsWith('.safetensors'));
  const hint = present.has('pytorch_model.bin')
    ? ' (pytorch_model.bin is a pickle, which warmgate does not read: save the model again with safe_serialization, the default since transformers 4.35)'
    : others.length
      ? ` (found ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''} without the index that says which tensors each holds)`
      : '';
  throw new ImportError(
    'checkpoint_incomplete',
    `${dir} holds neither ${SINGLE} nor ${INDEX}${hint}; download the model's safetensors weights into it`,
  );
}

async function openSharded(dir: string, present: ReadonlySet<string>): Promise<Checkpoint> {
  const indexFile = join(dir, INDEX);
  const weightMap = await readWeightMap(indexFile);
  const byShard = new Map<string, string[]>();
  for (const [tensor, shard] of weightMap) {
    byShard.set(shard, [...(byShard.get(shard) ?? []), tensor]);
  }
  const missing = [...byShard.keys()].filter((s) => !present.has(s));
  if (missing.length) {
    const listed = missing
      .map((s) => `${s} (${byShard.get(s)!.length} tensors, e.g. "${byShard.get(s)![0]}")`)
      .join(', ');
    throw new ImportError(
      'checkpoint_incomplete',
      `${indexFile} names shard${missing.length > 1 ? 's' : ''} missing from ${dir}: ${listed}; download every shard the index lists`,
    );
  }
  const tensors = new Map<string, TensorEntry>();
  const files: string[] = [];
  for (const [shard, names] of byShard) {
    const file = join(dir, shard);
    files.push(file);
    const header = await readSafetensorsHeader(file);
    for (const name of names) {
      const entry = header.get(name);
      if (!entry) {
        throw new ImportError(
          'checkpoint_incomplete',
          `${indexFile} says tensor "${name}" is in ${shard}, but ${shard} does not hold it; the shard and the index come from different saves: download both again`,
        );
      }
      tensors.set(name, entry);
    }
    // A tensor a shard holds beyond the index still belongs to the model (transformers loads it too).
    for (const [name, entry] of header) if (!tensors.has(name)) tensors.set(name, entry);
  }
  return { files, tensors };
}

async function readWeightMap(indexFile: string): Promise<Map<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexFile, 'utf8'));
  } catch (e) {
    throw new ImportError(
      'checkpoint_corrupt',
      `${indexFile} is not readable JSON (${(e as Error).message}); download it again`,
      { cause: e },
    );
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new ImportError(
      'checkpoint_corrupt',
      `${indexFile} has no "weight_map" object (found ${shown(weightMap)}); download it again`,
    );
  }
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    // A shard is a file beside the index: a path elsewhere is refused rather than followed.
    if (
      typeof shard !== 'string' ||
      basename(shard) !== shard ||
      shard.includes('\\') ||
      shard === '..' ||
      shard === '.'
    ) {
      throw new ImportError(
        'checkpoint_corrupt',
        `${indexFile}: weight_map["${tensor}"] is ${shown(shard)}, not the name of a shard file beside the index`,
      );
    }
    map.set(tensor, shard);
  }
  if (map.size === 0) {
    throw new ImportError('checkpoint_corrupt', `${indexFile}: weight_map is empty`);
  }
  return map;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    throw new ImportError('model_dir_invalid', `cannot read the folder ${dir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
