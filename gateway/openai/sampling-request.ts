import { Ajv } from 'ajv';
import { type SamplingParams, validateSamplingParams } from '../../runtime/engine/api.ts';
import { ApiError } from '../errors/index.ts';
import type { Prompt } from '../model-text/index.ts';
import { checkContext, type SamplingLimitsForModel } from './input-limits.ts';

/** The sampling fields OpenAI's completions and chat bodies share, as the clients send them. */
export interface OpenAISamplingFields {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
}

export const samplingProperties = {
  max_tokens: { type: ['integer', 'null'] },
  max_completion_tokens: { type: ['integer', 'null'] },
  temperature: { type: ['number', 'null'] },
  top_p: { type: ['number', 'null'] },
  top_k: { type: ['integer', 'null'] },
  n: { type: ['integer', 'null'] },
  stop: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, { type: 'null' }] },
  seed: { type: ['integer', 'null'] },
  stream: { type: ['boolean', 'null'] },
  stream_options: {
    anyOf: [
      { type: 'object', properties: { include_usage: { type: 'boolean' } }, additionalProperties: false },
      { type: 'null' },
    ],
  },
  user: { type: 'string' },
} as const;

export const ajv = new Ajv({ allErrors: false, strict: false });

export { schemaError } from '../errors/index.ts';

/** A completions or chat body, ready for the engine: the prompt (text or ids) and its sampling parameters. */
export interface GenerationRequest {
  readonly model: string;
  readonly prompt: Prompt;
  readonly params: SamplingParams;
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/** A validated body and its prompt as the engine's request. */
export function generationRequest(
  body: OpenAISamplingFields & { model: string },
  prompt: Prompt,
  limits: SamplingLimitsForModel,
  opts: { logprobs: number; defaultMaxTokens: number; logprobsParam?: string },
): GenerationRequest {
  const maxTokens = limits.maxTokens ?? limits.contextLength;
  const params = toSamplingParams(body, limits, {
    ...opts,
    defaultMaxTokens: Math.min(opts.defaultMaxTokens, maxTokens),
  });
  checkContext(prompt, params.maxTokens, limits.contextLength);
  return {
    model: body.model,
    prompt,
    params,
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
  };
}

/** OpenAI field names and defaults to the engine's SamplingParams, with the engine's own validation. */
function toSamplingParams(
  body: OpenAISamplingFields,
  limits: SamplingLimitsForModel,
  opts: { logprobs: number; defaultMaxTokens: number; logprobsParam?: string },
): SamplingParams {
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const input = {
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: body.top_k ?? 0,
    n: body.n ?? 1,
    stop,
    logprobs: opts.logprobs,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? opts.defaultMaxTokens,
    seed: body.seed, // null or absent: none
  };
  const r = validateSamplingParams(input, {
    vocabSize: limits.vocabSize,
    maxN: limits.maxN,
    maxStop: 4,
    maxStopLength: 64,
    maxTokens: limits.maxTokens ?? limits.contextLength,
  });
  if (!r.ok) {
    // The engine names fields in camelCase; the client sent OpenAI's names, and the one it used.
    const param =
      r.field === 'maxTokens' && body.max_completion_tokens != null
        ? 'max_completion_tokens'
        : r.field === 'logprobs' && opts.logprobsParam
          ? opts.logprobsParam
          : (OPENAI_NAMES[r.field] ?? r.field);
    throw new ApiError('invalid_sampling_params', r.message.replace(r.field, param), { param });
  }
  return r.params;
}

const OPENAI_NAMES: Record<string, string> = {
  temperature: 'temperature',
  topP: 'top_p',
  topK: 'top_k',
  n: 'n',
  stop: 'stop',
  logprobs: 'logprobs',
  maxTokens: 'max_tokens',
  seed: 'seed',
};
