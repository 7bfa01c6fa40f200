import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerLoadError, tokenizerInvalid } from './errors.ts';

/** The text side of a Hugging Face model folder, parsed. */
export interface HfTextFiles {
  /** tokenizer.json. */
  readonly tokenizer: unknown;
  /** tokenizer_config.json: special tokens, add_bos_token, added tokens, chat_template. */
  readonly tokenizerConfig?: unknown;
  /** generation_config.json: its eos_token_id (one or a list) end generation too. */
  readonly generationConfig?: unknown;
  /** chat_template.jinja, which transformers v5 writes beside tokenizer_config.json. */
  readonly chatTemplateJinja?: string;
}

/**
 * Reads tokenizer.json (required: TokenizerLoadError('tokenizer_missing') without it) and, when present,
 * tokenizer_config.json, generation_config.json and chat_template.jinja. A file that is not JSON is
 * 'tokenizer_invalid', naming the file.
 */
export async function readHfTextFiles(dir: string): Promise<HfTextFiles> {
  const tokenizer = await readOptional(join(dir, 'tokenizer.json'));
  if (tokenizer === undefined) {
    throw new TokenizerLoadError(
      'tokenizer_missing',
      `${dir} has no tokenizer.json: copy it from the Hugging Face model (the "fast" tokenizer file) and try again`,
    );
  }
  const config = await readOptional(join(dir, 'tokenizer_config.json'));
  const generation = await readOptional(join(dir, 'generation_config.json'));
  const jinja = await readOptional(join(dir, 'chat_template.jinja'));
  return {
    tokenizer: parseJson(tokenizer, join(dir, 'tokenizer.json')),
    tokenizerConfig: config === undefined ? undefined : parseJson(config, join(dir, 'tokenizer_config.json')),
    generationConfig:
      generation === undefined ? undefined : parseJson(generation, join(dir, 'generation_config.json')),
    chatTemplateJinja: jinja,
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenizerLoadError('tokenizer_missing', `${path} cannot be read: ${(e as Error).message}`);
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw tokenizerInvalid(`${path} is not valid JSON (${(e as Error).message})`);
  }
}
