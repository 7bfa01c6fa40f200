import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ImportError, type ImportErrorCode, shown } from './import-error.ts';

/** The tokenizer side of a Hugging Face folder, for the glue to copy and describe in model.json. */
export interface TokenizerFiles {
  /** tokenizer.json's path (read by the tokenizer library; not parsed here). */
  readonly tokenizerJson: string;
  /** tokenizer_config.json parsed; {} when the folder has none. */
  readonly tokenizerConfig: Readonly<Record<string, unknown>>;
  /** The default chat template and the file it came from; absent when the model has none. */
  readonly chatTemplate?: { readonly source: string; readonly file: string };
  /** Named templates besides the default (tool_use, rag...), by name. */
  readonly namedChatTemplates: Readonly<Record<string, string>>;
  readonly generation: GenerationDefaults;
}

/** generation_config.json's settings that serving uses. */
export interface GenerationDefaults {
  /** Every id that ends generation: generation_config.json's, else config.json's. */
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId?: number;
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  /** Whether generation_config.json was present. */
  readonly fromGenerationConfig: boolean;
}

/**
 * Reads tokenizer.json's location, tokenizer_config.json, the chat template and generation_config.json.
 * The chat template is looked for as transformers does: chat_template.jinja first, then
 * chat_template.json, then tokenizer_config.json's `chat_template` (a string, or a list of named ones).
 */
export async function readTokenizerFiles(
  dir: string,
  configEosTokenIds: readonly number[] = [],
): Promise<TokenizerFiles> {
  const tokenizerJson = join(dir, 'tokenizer.json');
  if (!(await isFile(tokenizerJson))) {
    const slow = (await isFile(join(dir, 'tokenizer.model')))
      ? ' (tokenizer.model is a SentencePiece file that needs converting)'
      : '';
    throw new ImportError(
      'tokenizer_missing',
      `${dir} has no tokenizer.json${slow}; warmgate reads tokenizers in that format: load the tokenizer with transformers' AutoTokenizer and save_pretrained it into the folder, which writes tokenizer.json`,
    );
  }
  const tokenizerConfig =
    (await readJsonObject(join(dir, 'tokenizer_config.json'), 'tokenizer_invalid')) ?? {};
  const { chatTemplate, named } = await readChatTemplates(dir, tokenizerConfig);
  const generation = await readGeneration(dir, configEosTokenIds);
  return {
    tokenizerJson,
    tokenizerConfig,
    ...(chatTemplate ? { chatTemplate } : {}),
    namedChatTemplates: named,
    generation,
  };
}

async function readChatTemplates(
  dir: string,
  tokenizerConfig: Readonly<Record<string, unknown>>,
): Promise<{ chatTemplate?: { source: string; file: string }; named: Record<string, string> }> {
  const named: Record<string, string> = {};
  let chatTemplate: { source: string; file: string } | undefined;
  const configFile = join(dir, 'tokenizer_config.json');
  const fromConfig = tokenizerConfig.chat_template;
  if (typeof fromConfig === 'string') {
    chatTemplate = { source: fromConfig, file: configFile };
  } else if (Array.isArray(fromConfig)) {
    for (const entry of fromConfig) {
      const { name, template } = (entry ?? {}) as { name?: unknown; template?: unknown };
      if (typeof name !== 'string' || typeof template !== 'string') {
        throw new ImportError(
          'tokenizer_invalid',
          `${configFile}: chat_template list entry ${shown(entry)} is not { "name": string, "template": string }`,
        );
      }
      if (name === 'default') chatTemplate = { source: template, file: configFile };
      else named[name] = template;
    }
  } else if (fromConfig !== undefined && fromConfig !== null) {
    throw new ImportError(
      'tokenizer_invalid',
      `${configFile}: chat_template is ${shown(fromConfig)}, expected a string or a list of named templates`,
    );
  }
  const jsonFile = join(dir, 'chat_template.json');
  const json = await readJsonObject(jsonFile, 'tokenizer_invalid');
  if (json) {
    if (typeof json.chat_template !== 'string') {
      throw new ImportError('tokenizer_invalid', `${jsonFile} has no "chat_template" string`);
    }
    chatTemplate = { source: json.chat_template, file: jsonFile };
  }
  const jinjaFile = join(dir, 'chat_template.jinja');
  const jinja = await readText(jinjaFile);
  if (jinja !== undefined) chatTemplate = { source: jinja, file: jinjaFile };
  // Newer transformers saves named templates as files in additional_chat_templates/.
  const extraDir = join(dir, 'additional_chat_templates');
  const extra = await readdir(extraDir).catch(() => [] as string[]);
  for (const f of extra.filter((f) => f.endsWith('.jinja')).sort()) {
    named[f.slice(0, -'.jinja'.length)] = (await readText(join(extraDir, f)))!;
  }
  return { ...(chatTemplate ? { chatTemplate } : {}), named };
}

async function readGeneration(dir: string, configEos: readonly number[]): Promise<GenerationDefaults> {
  const file = join(dir, 'generation_config.json');
  const g = await readJsonObject(file, 'config_invalid');
  if (!g) return { eosTokenIds: [...configEos], fromGenerationConfig: false };
  const bad = (field: string, expected: string) =>
    new ImportError(
      'config_invalid',
      `${file}: "${field}" is ${shown(g[field])}, expected ${expected}; fix or remove generation_config.json`,
    );
  const isId = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const eos = g.eos_token_id ?? undefined;
  const eosList = eos === undefined ? [...configEos] : Array.isArray(eos) ? eos : [eos];
  if (!eosList.every(isId)) throw bad('eos_token_id', 'a token id or a list of them');
  const optional = <T>(field: string, ok: (v: unknown) => boolean, expected: string): T | undefined => {
    const v = g[field] ?? undefined;
    if (v === undefined) return undefined;
    if (!ok(v)) throw bad(field, expected);
    return v as T;
  };
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const bosTokenId = optional<number>('bos_token_id', isId, 'a token id');
  const doSample = optional<boolean>('do_sample', (v) => typeof v === 'boolean', 'true or false');
  const temperature = optional<number>(
    'temperature',
    (v) => isNumber(v) && (v as number) >= 0,
    'a number >= 0',
  );
  const topP = optional<number>(
    'top_p',
    (v) => isNumber(v) && (v as number) > 0 && (v as number) <= 1,
    'a number in (0, 1]',
  );
  const topK = optional<number>('top_k', isId, 'an integer >= 0');
  return {
    eosTokenIds: eosList as number[],
    ...(bosTokenId !== undefined ? { bosTokenId } : {}),
    ...(doSample !== undefined ? { doSample } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topP !== undefined ? { topP } : {}),
    ...(topK !== undefined ? { topK } : {}),
    fromGenerationConfig: true,
  };
}

/** A JSON object file, or undefined when absent. */
async function readJsonObject(
  file: string,
  code: ImportErrorCode,
): Promise<Record<string, unknown> | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ImportError(code, `${file} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ImportError(code, `${file} is not a JSON object`);
  }
  return json as Record<string, unknown>;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImportError('tokenizer_invalid', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
