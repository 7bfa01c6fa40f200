import { stat } from 'node:fs/promises';
import { openCheckpoint } from './checkpoint.ts';
import { type ImportedConfig, readConfig } from './hf-config.ts';
import { ImportError } from './import-error.ts';
import { readTokenizerFiles, type TokenizerFiles } from './tokenizer-files.ts';
import { planWeights, type WeightPlan } from './weight-plan.ts';

/** A Hugging Face model folder, read and checked; writeWeights(model.plan, ...) does the heavy part. */
export interface HfModel {
  readonly dir: string;
  readonly config: ImportedConfig;
  readonly tokenizer: TokenizerFiles;
  readonly plan: WeightPlan;
}

/**
 * Everything that can refuse a folder, before any output exists: config.json (the architecture), the
 * tokenizer files, every safetensors header, and the plan that maps each warmgate tensor to its source.
 * Reads no tensor data, except to confirm that a tied model's stray lm_head equals its embedding.
 */
export async function readHfModel(dir: string): Promise<HfModel> {
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new ImportError(
      'model_dir_invalid',
      `${dir} is not a folder; give the folder holding the model's config.json, safetensors and tokenizer.json`,
    );
  }
  const config = await readConfig(dir);
  const tokenizer = await readTokenizerFiles(dir, config.eosTokenIds);
  const checkpoint = await openCheckpoint(dir);
  const plan = await planWeights(config.architecture, config.layout, checkpoint);
  return { dir, config, tokenizer, plan };
}
