import type { ChatTemplate, Tokenizer } from '../../runtime/engine/api.ts';

/**
 * How a deployment's model reads text, as the gateway needs it to count tokens and render chats: byte
 * level (warmgate's own models), or a Hugging Face tokenizer and chat template (null: the model has none).
 */
export type DeploymentText = ByteText | HfText;

export interface ByteText {
  readonly type: 'byte';
}

export interface HfText {
  readonly type: 'huggingface';
  /** The ServedTokenizer id of the files it was built from. */
  readonly id: string;
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: ChatTemplate | null;
}

/** The one ByteText: a byte model's requests share it. */
export const BYTE_TEXT: ByteText = Object.freeze({ type: 'byte' });
