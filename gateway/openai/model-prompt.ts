import { type ChatMessage as TemplateMessage, ChatTemplateError } from '../../runtime/engine/api.ts';
import { ApiError } from '../errors/index.ts';
import type { DeploymentText, HfText, Prompt } from '../model-text/index.ts';
import { type ChatMessage, chatPrompt, messageText } from './chat-request.ts';
import { checkPromptLimit, type InputLimits } from './input-limits.ts';

/**
 * A completion's prompt as the model reads it, checked against the configured limit: a byte-level
 * model's is the text itself (the instance encodes it), made at once; a Hugging Face model's is encoded
 * with its special tokens (Llama's BOS), as transformers encodes a completion prompt, on its tokenizer
 * worker (the promise).
 */
export function completionPrompt(
  text: DeploymentText,
  prompt: string,
  limits: InputLimits,
): Prompt | Promise<Prompt> {
  if (text.type === 'byte') {
    checkPromptLimit(prompt, limits);
    return prompt;
  }
  return encodedCompletion(text, prompt, limits);
}

async function encodedCompletion(text: HfText, prompt: string, limits: InputLimits): Promise<Prompt> {
  const p: Prompt = { ids: await text.encode(prompt, true), tokenizerId: text.id, text: prompt };
  checkPromptLimit(p, limits);
  return p;
}

/**
 * A chat's prompt as the model reads it, checked against the configured limit: a byte-level model's
 * "Role:" template, made at once; or the Hugging Face model's own chat template with the generation
 * prompt, encoded without adding special tokens (the template wrote them), on its tokenizer worker. 400
 * chat_template_missing when the model has no template, chat_template_error when its template refuses
 * the messages (its own message).
 */
export function chatPromptFor(
  text: DeploymentText,
  messages: readonly ChatMessage[],
  limits: InputLimits,
): Prompt | Promise<Prompt> {
  if (text.type === 'byte') {
    const p = chatPrompt(messages);
    checkPromptLimit(p, limits, 'messages');
    return p;
  }
  return renderedChat(text, messages, limits);
}

async function renderedChat(
  text: HfText,
  messages: readonly ChatMessage[],
  limits: InputLimits,
): Promise<Prompt> {
  const turns: TemplateMessage[] = messages.map((m) => ({
    role: m.role,
    content: messageText(m.content),
    ...(m.name !== undefined && { name: m.name }),
  }));
  let rendered;
  try {
    rendered = await text.renderChat(turns);
  } catch (e) {
    if (!(e instanceof ChatTemplateError)) throw e;
    const code = e.code === 'chat_template_missing' ? 'chat_template_missing' : 'chat_template_error';
    throw new ApiError(code, e.message, { param: 'messages' });
  }
  const p: Prompt = { ids: rendered.ids, tokenizerId: text.id, text: rendered.text };
  checkPromptLimit(p, limits, 'messages');
  return p;
}
