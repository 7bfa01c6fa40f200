import { randomBytes } from 'node:crypto';
import type { GenerationEvent } from '../../runtime/engine/api.ts';
import type { ChoiceState } from './choice-accumulator.ts';
import type { TokenTexts } from './token-text.ts';

type TokenEvent = Extract<GenerationEvent, { type: 'token' }>;

/** The shapes of OpenAI's completions and chat answers, as the official clients parse them. */

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const usage = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

/** The engine's 'abort' never reaches a client that is still there; it reads as 'stop'. */
export const finishReason = (r: string | null): 'stop' | 'length' | null =>
  r === null ? null : r === 'length' ? 'length' : 'stop';

/** Completions' logprobs: parallel arrays, top alternatives as { token: logprob } maps. */
export function completionLogprobs(tokens: readonly TokenEvent[], offset0: number, texts: TokenTexts) {
  let offset = offset0;
  const text_offset: number[] = [];
  for (const t of tokens) {
    text_offset.push(offset);
    offset += t.text.length;
  }
  return {
    tokens: tokens.map((t) => texts.text(t)),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => Object.fromEntries(t.top.map((a) => [texts.text(a), a.logprob]))),
    text_offset,
  };
}

/** Chat's logprobs: one entry per token with its bytes and alternatives. */
export function chatLogprobs(tokens: readonly TokenEvent[], texts: TokenTexts) {
  return {
    content: tokens.map((t) => ({
      token: texts.text(t),
      logprob: t.logprob,
      bytes: texts.bytes(t),
      top_logprobs: t.top.map((a) => ({
        token: texts.text(a),
        logprob: a.logprob,
        bytes: texts.bytes(a),
      })),
    })),
    refusal: null,
  };
}

// A random prefix per process and a counter: unique like a UUID, without random bytes per response.
const ID_PREFIX = randomBytes(10).toString('hex');
let idSeq = 0;

/** A response id: `${kind}-` and 32 hex digits, unique across processes and responses. */
export function responseId(kind: string): string {
  idSeq = (idSeq + 1) % 2 ** 48;
  return `${kind}-${ID_PREFIX}${idSeq.toString(16).padStart(12, '0')}`;
}

export interface ResponseIds {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

export function completionResponse(
  ids: ResponseIds,
  choices: readonly ChoiceState[],
  logprobs: TokenTexts | null,
  u: Usage,
) {
  return {
    id: ids.id,
    object: 'text_completion' as const,
    created: ids.created,
    model: ids.model,
    system_fingerprint: null,
    choices: choices.map((c, index) => ({
      index,
      text: c.text,
      logprobs: logprobs ? completionLogprobs(c.tokens, 0, logprobs) : null,
      finish_reason: finishReason(c.finishReason),
    })),
    usage: u,
  };
}

/** `logprobs`: how tokens read, when the request asked for logprobs; null when it did not. */
export function chatResponse(
  ids: ResponseIds,
  choices: readonly ChoiceState[],
  logprobs: TokenTexts | null,
  u: Usage,
) {
  return {
    id: ids.id,
    object: 'chat.completion' as const,
    created: ids.created,
    model: ids.model,
    system_fingerprint: null,
    choices: choices.map((c, index) => ({
      index,
      message: { role: 'assistant' as const, content: c.text, refusal: null },
      logprobs: logprobs ? chatLogprobs(c.tokens, logprobs) : null,
      finish_reason: finishReason(c.finishReason),
    })),
    usage: u,
  };
}

function chunk<C>(object: string, ids: ResponseIds, choice: C | null, u: Usage | null | undefined) {
  return {
    id: ids.id,
    object,
    created: ids.created,
    model: ids.model,
    system_fingerprint: null,
    choices: choice ? [choice] : [],
    ...(u !== undefined ? { usage: u } : {}),
  };
}

/** One streamed completions chunk. `usage` is null on every chunk but the last when usage was asked for. */
export const completionChunk = (
  ids: ResponseIds,
  choice: { index: number; text: string; logprobs: unknown; finish_reason: 'stop' | 'length' | null } | null,
  u: Usage | null | undefined,
) => chunk('text_completion', ids, choice, u);

export const chatChunk = (
  ids: ResponseIds,
  choice: {
    index: number;
    delta: { role?: 'assistant'; content?: string };
    logprobs: unknown;
    finish_reason: 'stop' | 'length' | null;
  } | null,
  u: Usage | null | undefined,
) => chunk('chat.completion.chunk', ids, choice, u);
