import { ChatTemplate } from './chat-template.ts';
import { parseTokenizerConfig } from './hf-config.ts';
import { HfTokenizer } from './hf-tokenizer.ts';
import { readHfTextFiles, type HfTextFiles } from './read-hf-files.ts';

/** What serving a Hugging Face model needs for text: its tokenizer and its chat template (null: none). */
export interface ModelText {
  readonly tokenizer: HfTokenizer;
  readonly chatTemplate: ChatTemplate | null;
}

/** Both from one read of the folder; see readHfTextFiles for the files and their errors. */
export async function loadModelText(dir: string): Promise<ModelText> {
  return modelTextFrom(await readHfTextFiles(dir));
}

export function modelTextFrom(files: HfTextFiles): ModelText {
  return {
    tokenizer: HfTokenizer.fromJson(files),
    chatTemplate: ChatTemplate.fromFiles(
      parseTokenizerConfig(files.tokenizerConfig),
      files.chatTemplateJinja,
    ),
  };
}
