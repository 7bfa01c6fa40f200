import type { SamplingLimitsForModel } from './input-limits.ts';
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

/**
 * The chat template: each message as "Role:\ntext\n\n", then "Assistant:\n" to prompt the reply. The demo
 * model was trained on play scripts, where this is how a speaker's turn reads. A deployment with its own
 * template will supply it (issue 3's deployment API).
 */
export function chatPrompt(messages: readonly ChatMessage[]): string {
  const text = (c: ChatMessage['content']) => (typeof c === 'string' ? c : c.map((p) => p.text).join(''));
  const turns = messages.map((m) => `${m.role[0]!.toUpperCase()}${m.role.slice(1)}:\n${text(m.content)}\n\n`);
  return `${turns.join('')}Assistant:\n`;
}

/** Chat has no fixed max_tokens default: the rest of the context, which admission then checks. */
export function chatRequest(
  body: ChatBody,
  limits: SamplingLimitsForModel,
  promptTokens: number,
): GenerationRequest {
  // The chosen token's logprob always comes back; top_logprobs asks for alternatives too.
  const logprobs = body.logprobs ? (body.top_logprobs ?? 0) : 0;
  const defaultMaxTokens = Math.max(1, limits.contextLength - promptTokens);
  return generationRequest(body, chatPrompt(body.messages), limits, {
    logprobs,
    defaultMaxTokens,
    logprobsParam: 'top_logprobs',
  });
}
