import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { HfTokenizer } from '../../engine/text/index.ts';
import { resolveArchitecture } from '../architecture.ts';
import { buildGraphs, type WeightIndex } from '../graph/index.ts';
import { checkManifest, type ManifestFile, type ModelDtype, type ModelManifest } from '../manifest.ts';
import { convertWeights } from '../quantize/index.ts';
import { ImportError } from './import-error.ts';
import { type HfModel, readHfModel } from './read-hf-model.ts';
import { writeWeights } from './write-weights.ts';

export interface ImportOptions {
  /** The model's name in model.json and metrics. Default: the source folder's name. */
  readonly name?: string;
  /** Replace an existing output folder (only once the new one is complete). Default false. */
  readonly force?: boolean;
  /**
   * How weights.bin stores the weights: float32 (default), float16 (half the file; computed in float32),
   * or int4 (the linear layers 4-bit in blocks along their input, through ONNX Runtime's MatMulNBits;
   * embeddings, norms and biases float16). See runtime/model/quantize.
   */
  readonly dtype?: ModelDtype;
  /** int4's block size. Default 32. */
  readonly blockSize?: 32 | 64;
  /** Progress lines (notes, each phase). Default: none. */
  readonly log?: (line: string) => void;
}

export interface ImportReport {
  readonly out: string;
  readonly manifest: ModelManifest;
  /** What the importer changed or assumed (e.g. a sliding window capping the context). */
  readonly notes: readonly string[];
  /** Sum of the checkpoint's safetensors files. */
  readonly sourceBytes: number;
  readonly weightsBytes: number;
  readonly parameters: number;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/**
 * A Hugging Face model folder -> a warmgate model folder: weights.bin (streamed, float32), engine.onnx,
 * reference.onnx and decode_contiguous.onnx in the paged contract, the tokenizer's files and model.json.
 * Everything that can refuse the checkpoint does so before any output exists; the folder is built beside
 * `out` and renamed into place only when complete, so a failure leaves nothing half-written.
 */
export async function importModel(src: string, out: string, o: ImportOptions = {}): Promise<ImportReport> {
  const log = o.log ?? (() => undefined);
  const model = await readHfModel(src);
  for (const note of model.config.notes) log(`note: ${note}`);
  const target = resolve(out);
  if (!o.force && (await exists(target))) {
    throw new ImportError(
      'output_failed',
      `${out} already exists: choose another --out, or pass --force to replace it`,
    );
  }
  const work = join(dirname(target), `.${basename(target)}.importing-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const report = await writeFolder(model, work, o.name ?? basename(resolve(src)), o, log);
    if (o.force) await rm(target, { recursive: true, force: true });
    await rename(work, target);
    return { ...report, out: target };
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
}

async function writeFolder(
  model: HfModel,
  dir: string,
  name: string,
  o: ImportOptions,
  log: (line: string) => void,
): Promise<Omit<ImportReport, 'out'>> {
  const arch = model.config.architecture;
  log(`${model.config.modelType}: ${arch.n_layer} layers, d_model ${arch.d_model}, vocab ${arch.vocab_size}`);
  const dtype = o.dtype ?? 'float32';
  const fp32 = join(dir, dtype === 'float32' ? 'weights.bin' : 'weights.float32.bin');
  const written = await writeWeights(model.plan, fp32);
  let index: WeightIndex = written.index;
  let weights = { sha256: written.sha256, byteLength: written.byteLength };
  if (dtype !== 'float32') {
    log(`converting the weights to ${dtype}${dtype === 'int4' ? ` (blocks of ${o.blockSize ?? 32})` : ''}`);
    const c = await convertWeights(fp32, index, dtype, join(dir, 'weights.bin'), {
      blockSize: o.blockSize ?? 32,
    });
    await rm(fp32);
    ({ index } = c);
    weights = { sha256: c.sha256, byteLength: c.byteLength };
  }
  const graphs = buildGraphs(resolveArchitecture(arch), index, 'weights.bin', name);
  const files: Partial<Record<keyof ModelManifest['files'], ManifestFile>> = {
    weights: { path: 'weights.bin', sha256: weights.sha256 },
  };
  for (const [role, bytes] of [
    ['engine', graphs.engine],
    ['reference', graphs.reference],
    ['decode_contiguous', graphs.decodeContiguous],
  ] as const) {
    await writeFile(join(dir, `${role}.onnx`), bytes);
    files[role] = { path: `${role}.onnx`, sha256: sha256(bytes) };
  }
  Object.assign(files, await writeTextFiles(model, dir));
  // The runtime reads the tokenizer from the written folder: read it the same way here, so what model.json
  // says (eos ids, bos) is what serving will use, and a tokenizer the runtime cannot load fails the import.
  const tokenizer = await HfTokenizer.fromFolder(dir).catch((e: Error) => {
    throw new ImportError('tokenizer_invalid', `the model's tokenizer cannot be loaded: ${e.message}`);
  });
  if (tokenizer.vocabSize > arch.vocab_size) {
    throw new ImportError(
      'checkpoint_mismatch',
      `tokenizer.json has ${tokenizer.vocabSize} tokens but the model only ${arch.vocab_size} embedding rows: the tokenizer belongs to another model`,
    );
  }
  const eos = [...new Set(tokenizer.eosTokenIds)];
  if (eos.length === 0) {
    throw new ImportError(
      'tokenizer_invalid',
      'the model declares no eos token (generation_config.json, config.json or tokenizer_config.json): generation would never stop; add eos_token_id to generation_config.json',
    );
  }
  const g = model.tokenizer.generation;
  const manifest = {
    format: 'warmgate-model/1',
    name,
    architecture: arch,
    tokenizer: {
      type: 'huggingface',
      vocab_size: arch.vocab_size,
      eos_token_id: eos[0]!,
      eos_token_ids: eos,
      bos_token_id: tokenizer.bosTokenId,
    },
    kv_layout: {
      type: 'paged',
      key: ['block', 'kv_head', 'head_dim', 'slot'],
      value: ['block', 'kv_head', 'slot', 'head_dim'],
      dtype: 'float32',
    },
    dtype,
    ...(g.fromGenerationConfig && g.doSample !== false && (g.temperature ?? g.topP ?? g.topK) !== undefined
      ? {
          generation: {
            ...(g.temperature !== undefined ? { temperature: g.temperature } : {}),
            ...(g.topP !== undefined ? { top_p: g.topP } : {}),
            ...(g.topK !== undefined ? { top_k: g.topK } : {}),
          },
        }
      : {}),
    source: { format: 'huggingface', model_type: model.config.modelType, notes: [...model.config.notes] },
    files,
  };
  const check = checkManifest(manifest);
  if (!check.ok) {
    throw new ImportError(
      'checkpoint_mismatch',
      `the imported model does not hold together: ${check.problems.join('; ')}`,
    );
  }
  await writeFile(join(dir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const shapes = Object.values(written.index).map((e) => e.shape.reduce((a, b) => a * b, 1));
  return {
    manifest: check.manifest,
    notes: model.config.notes,
    sourceBytes: await checkpointBytes(model.dir),
    weightsBytes: weights.byteLength,
    parameters: shapes.reduce((a, b) => a + b, 0),
  };
}

/**
 * The tokenizer side under the names the runtime reads (engine/text/read-hf-files.ts): tokenizer.json
 * and tokenizer_config.json as they are, generation_config.json (written from config.json's eos ids when
 * the checkpoint has none), and the default chat template as chat_template.jinja, wherever it came from.
 */
async function writeTextFiles(
  model: HfModel,
  dir: string,
): Promise<Partial<Record<keyof ModelManifest['files'], ManifestFile>>> {
  const t = model.tokenizer;
  const files: Partial<Record<keyof ModelManifest['files'], ManifestFile>> = {};
  await copyFile(t.tokenizerJson, join(dir, 'tokenizer.json'));
  files.tokenizer = { path: 'tokenizer.json', sha256: sha256(await readFile(join(dir, 'tokenizer.json'))) };
  const config = `${JSON.stringify(t.tokenizerConfig, null, 2)}\n`;
  await writeFile(join(dir, 'tokenizer_config.json'), config);
  files.tokenizer_config = { path: 'tokenizer_config.json', sha256: sha256(config) };
  const generationSrc = join(model.dir, 'generation_config.json');
  if (t.generation.fromGenerationConfig) await copyFile(generationSrc, join(dir, 'generation_config.json'));
  else {
    const ids = t.generation.eosTokenIds;
    const generated = {
      eos_token_id: ids.length === 1 ? ids[0] : ids,
      written_by: 'warmgate import (from config.json)',
    };
    await writeFile(join(dir, 'generation_config.json'), `${JSON.stringify(generated, null, 2)}\n`);
  }
  if (t.chatTemplate) {
    await writeFile(join(dir, 'chat_template.jinja'), t.chatTemplate.source);
    files.chat_template = { path: 'chat_template.jinja', sha256: sha256(t.chatTemplate.source) };
  }
  return files;
}

async function checkpointBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir))
    if (f.endsWith('.safetensors')) total += (await stat(join(dir, f))).size;
  return total;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
