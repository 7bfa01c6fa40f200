import type { ChatMessage } from '../../runtime/engine/api.ts';

/**
 * How a deployment's model reads text, as the gateway needs it to count tokens and render chats: byte
 * level (warmgate's own models), or a Hugging Face tokenizer and chat template, run off the event loop.
 */
export type DeploymentText = ByteText | HfText;

export interface ByteText {
  readonly type: 'byte';
}

/**
 * A Hugging Face model's tokenizer and chat template, built and run on a worker thread: the gateway's
 * event loop never parses a tokenizer nor runs BPE, it awaits the ids. A worker that stops makes the
 * requests waiting on it fail with 503 tokenizer_unavailable (the next request builds it again).
 */
export interface HfText {
  readonly type: 'huggingface';
  /** The ServedTokenizer id of the files it was built from. */
  readonly id: string;
  /** The text's ids; with `addSpecialTokens`, as the tokenizer's post-processor adds them (Llama's BOS). */
  encode(text: string, addSpecialTokens: boolean): Promise<number[]>;
  /**
   * The chat as the model's template renders it with the generation prompt, and the ids of that
   * rendering (no special tokens added: the template wrote them). Rejects with ChatTemplateError
   * (chat_template_missing, chat_template_error) when the template cannot serve these messages.
   */
  renderChat(messages: readonly ChatMessage[]): Promise<{ text: string; ids: number[] }>;
}

/** The one ByteText: a byte model's requests share it. */
export const BYTE_TEXT: ByteText = Object.freeze({ type: 'byte' });
