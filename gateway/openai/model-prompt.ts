import {
  type ChatMessage as TemplateMessage,
  ChatTemplateError,
  renderChat,
} from '../../runtime/engine/api.ts';
import { ApiError } from '../errors/index.ts';
import type { DeploymentText, Prompt } from '../model-text/index.ts';
import { type ChatMessage, chatPrompt, messageText } from './chat-request.ts';
import { checkPromptLimit, type InputLimits } from './input-limits.ts';

/**
 * A completion's prompt as the model reads it, checked against the configured limit: a byte-level
 * model's is the text itself (the instance encodes it); a Hugging Face model's is encoded with its
 * special tokens (Llama's BOS), as transformers encodes a completion prompt.
 */
export function completionPrompt(text: DeploymentText, prompt: string, limits: InputLimits): Prompt {
  const p: Prompt =
    text.type === 'byte'
      ? prompt
      : { ids: text.tokenizer.encode(prompt), tokenizerId: text.id, text: prompt };
  checkPromptLimit(p, limits);
  return p;
}

/**
 * A chat's prompt as the model reads it, checked against the configured limit: a byte-level model's
 * "Role:" template, or the Hugging Face model's own chat template with the generation prompt, encoded
 * without adding special tokens (the template wrote them). 400 chat_template_missing when the model has
 * no template, chat_template_error when its template refuses the messages (its own message).
 */
export function chatPromptFor(
  text: DeploymentText,
  messages: readonly ChatMessage[],
  limits: InputLimits,
): Prompt {
  let p: Prompt;
  if (text.type === 'byte') p = chatPrompt(messages);
  else {
    const rendered = renderMessages(text.chatTemplate, messages);
    p = {
      ids: text.tokenizer.encode(rendered, { addSpecialTokens: false }),
      tokenizerId: text.id,
      text: rendered,
    };
  }
  checkPromptLimit(p, limits, 'messages');
  return p;
}

function renderMessages(
  template: Parameters<typeof renderChat>[0],
  messages: readonly ChatMessage[],
): string {
  const turns: TemplateMessage[] = messages.map((m) => ({
    role: m.role,
    content: messageText(m.content),
    ...(m.name !== undefined && { name: m.name }),
  }));
  try {
    return renderChat(template, turns, { addGenerationPrompt: true });
  } catch (e) {
    if (!(e instanceof ChatTemplateError)) throw e;
    const code = e.code === 'chat_template_missing' ? 'chat_template_missing' : 'chat_template_error';
    throw new ApiError(code, e.message, { param: 'messages' });
  }
}
