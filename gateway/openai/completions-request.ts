import { ApiError } from '../errors/index.ts';
import type { Prompt } from '../model-text/index.ts';
import type { SamplingLimitsForModel } from './input-limits.ts';
import {
  ajv,
  type GenerationRequest,
  type OpenAISamplingFields,
  samplingProperties,
  schemaError,
  generationRequest,
} from './sampling-request.ts';

/** POST /v1/completions, as the official clients send it (one prompt per request). */
export interface CompletionBody extends OpenAISamplingFields {
  model: string;
  prompt: string;
  logprobs?: number | null;
  echo?: boolean | null;
  user?: string;
}

const validate = ajv.compile<CompletionBody>({
  type: 'object',
  required: ['model', 'prompt'],
  additionalProperties: false,
  properties: {
    model: { type: 'string', minLength: 1 },
    prompt: { type: 'string' },
    logprobs: { type: ['integer', 'null'] },
    echo: { type: ['boolean', 'null'] },
    ...samplingProperties,
  },
});

/** Checks the shape (before the model is known) and returns the body typed. */
export function parseCompletionBody(body: unknown): CompletionBody {
  if (!validate(body)) throw schemaError(validate.errors);
  if (body.echo) throw new ApiError('invalid_request', "'echo' is not supported", { param: 'echo' });
  return body;
}

/**
 * OpenAI's completions default max_tokens is 16. `prompt`: the body's prompt as the model reads it
 * (completionPrompt); default the text itself, a byte-level model's prompt.
 */
export function completionRequest(
  body: CompletionBody,
  limits: SamplingLimitsForModel,
  prompt: Prompt = body.prompt,
): GenerationRequest {
  return generationRequest(body, prompt, limits, { logprobs: body.logprobs ?? 0, defaultMaxTokens: 16 });
}
