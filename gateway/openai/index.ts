export { type ChatBody, chatPrompt, chatRequest, parseChatBody } from './chat-request.ts';
export { type CompletionBody, completionRequest, parseCompletionBody } from './completions-request.ts';
export type { GenerationRequest } from './sampling-request.ts';
export { chatPromptFor, completionPrompt } from './model-prompt.ts';
export {
  checkPromptLimit,
  type InputLimits,
  narrowed,
  narrowing,
  promptTokens,
  type RequestPolicy,
  type SamplingLimitsForModel,
} from './input-limits.ts';
