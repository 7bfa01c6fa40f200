export { BYTE_TEXT, type ByteText, type DeploymentText, type HfText } from './deployment-text.ts';
export { ModelTexts, type ModelTextsOptions, type StartedTokenizerWorker } from './model-texts.ts';
export {
  instancePrompt,
  type Prompt,
  promptText,
  promptTokens,
  servesPrompt,
  type TokenizedPrompt,
} from './prompt.ts';
