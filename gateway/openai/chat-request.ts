import type { Prompt } from '../model-text/index.ts';
import { promptTokens, type SamplingLimitsForModel } from './input-limits.ts';
import {
  ajv,
  type GenerationRequest,
  type OpenAISamplingFields,
  samplingProperties,
  schemaError,
  generationRequest,
} from './sampling-request.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | { type: 'text'; text: string }[];
  name?: string;
}

/** POST /v1/chat/completions, as the official clients send it. */
export interface ChatBody extends OpenAISamplingFields {
  model: string;
  messages: ChatMessage[];
  logprobs?: boolean | null;
  top_logprobs?: number | null;
}

const validate = ajv.compile<ChatBody>({
  type: 'object',
  required: ['model', 'messages'],
  additionalProperties: false,
  properties: {
    model: { type: 'string', minLength: 1 },
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role', 'content'],
        properties: {
          role: { enum: ['system', 'user', 'assistant'] },
          content: {
            anyOf: [
              { type: 'string' },
              {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['type', 'text'],
                  properties: { type: { const: 'text' }, text: { type: 'string' } },
                },
              },
            ],
          },
          name: { type: 'string' },
        },
      },
    },
    logprobs: { type: ['boolean', 'null'] },
    top_logprobs: { type: ['integer', 'null'] },
    ...samplingProperties,
  },
});

export function parseChatBody(body: unknown): ChatBody {
  if (!validate(body)) throw schemaError(validate.errors);
  return body;
}

/** A message's text: its content, or its text parts joined. */
export function messageText(content: ChatMessage['content']): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

/**
 * The byte-level models' chat template: each message as "Role:\ntext\n\n", then "Assistant:\n" to prompt
 * the reply. The demo model was trained on play scripts, where this is how a speaker's turn reads. A
 * Hugging Face model renders its own (model-prompt.ts).
 */
export function chatPrompt(messages: readonly ChatMessage[]): string {
  const turns = messages.map(
    (m) => `${m.role[0]!.toUpperCase()}${m.role.slice(1)}:\n${messageText(m.content)}\n\n`,
  );
  return `${turns.join('')}Assistant:\n`;
}

/**
 * Chat has no fixed max_tokens default: the rest of the context, which admission then checks. `prompt`:
 * the messages as the model reads them (chatPromptFor); default the byte-level template's text.
 */
export function chatRequest(
  body: ChatBody,
  limits: SamplingLimitsForModel,
  prompt: Prompt = chatPrompt(body.messages),
): GenerationRequest {
  // The chosen token's logprob always comes back; top_logprobs asks for alternatives too.
  const logprobs = body.logprobs ? (body.top_logprobs ?? 0) : 0;
  const defaultMaxTokens = Math.max(1, limits.contextLength - promptTokens(prompt));
  return generationRequest(body, prompt, limits, {
    logprobs,
    defaultMaxTokens,
    logprobsParam: 'top_logprobs',
  });
}
