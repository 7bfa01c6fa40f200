import { ApiError } from '../errors/index.ts';
import { type Prompt, promptTokens } from '../model-text/index.ts';

export { promptTokens };

/** A model's own limits on generation, from its instance's metadata. */
export interface SamplingLimitsForModel {
  vocabSize: number;
  contextLength: number;
  maxN: number;
  /** Largest max_tokens; default the context length. */
  maxTokens?: number;
}

/**
 * Operator limits on generation requests, on top of each model's own (context length, n). A request over
 * one is refused with 400 before it is queued or reaches an instance. Unset: only the model's limits.
 */
export interface InputLimits {
  /** Largest prompt, in tokens. */
  readonly maxPromptTokens?: number;
  /** Largest max_tokens (and max_completion_tokens); also caps the default a request gets. */
  readonly maxTokens?: number;
  /** Largest n. */
  readonly maxN?: number;
}

/** How the public routes treat generation requests: the limits, and whether content may be recorded. */
export interface RequestPolicy {
  readonly limits?: InputLimits;
  /**
   * Prompts and completions go on the request's span as gen_ai.prompt / gen_ai.completion. Off by
   * default: request content is the caller's data and stays out of telemetry unless the operator opts in.
   */
  readonly recordContent?: boolean;
}

/**
 * 400 prompt_too_long when the prompt is over the configured limit, in the model's tokens (a byte-level
 * model's are its bytes); checked before any queue or instance when the model's tokenizer is known.
 */
export function checkPromptLimit(prompt: Prompt, limits: InputLimits, param = 'prompt'): void {
  const max = limits.maxPromptTokens;
  if (max === undefined) return;
  const tokens = promptTokens(prompt);
  if (tokens > max) {
    throw new ApiError(
      'prompt_too_long',
      `the prompt is ${tokens} tokens; this gateway takes at most ${max}: shorten it`,
      { param },
    );
  }
}

/** The model's limits narrowed by the configured ones. */
export function narrowed(model: SamplingLimitsForModel, limits: InputLimits): SamplingLimitsForModel {
  return {
    ...model,
    maxN: Math.min(model.maxN, limits.maxN ?? Infinity),
    maxTokens: Math.min(model.maxTokens ?? model.contextLength, limits.maxTokens ?? Infinity),
  };
}

/**
 * `narrowed` with `limits` fixed, remembered per model-limits object (one per instance's metadata): the
 * result is the same for every request, and building it per request showed in profiles.
 */
export function narrowing(limits: InputLimits): (model: SamplingLimitsForModel) => SamplingLimitsForModel {
  const cache = new WeakMap<SamplingLimitsForModel, SamplingLimitsForModel>();
  return (model) => {
    let n = cache.get(model);
    if (n === undefined) cache.set(model, (n = Object.freeze(narrowed(model, limits))));
    return n;
  };
}

/**
 * 400 context_length_exceeded when prompt plus max_tokens is over the model's context: refused here,
 * before the request reaches an instance, with the message and param the engine would give.
 */
export function checkContext(prompt: Prompt, maxTokens: number, contextLength: number): void {
  const tokens = promptTokens(prompt);
  const total = tokens + maxTokens;
  if (total <= contextLength) return;
  throw new ApiError(
    'context_length_exceeded',
    `prompt (${tokens} tokens) plus max_tokens (${maxTokens}) is ${total}, over the model's context of ${contextLength} tokens: shorten the prompt or lower max_tokens`,
    { param: 'max_tokens' },
  );
}
