// Text in and out of a model: tokenizers, streaming detokenization, chat templates. Free of ONNX Runtime,
// so the gateway can count tokens and render chats with the model's own tokenizer.
export type {
  Tokenizer,
  EncodeOptions,
  DecodeOptions,
  StreamDecoder,
  StreamDecoderOptions,
} from './tokenizer.ts';
export { ByteTokenizer, IncrementalDecoder } from './byte-tokenizer.ts';
export { HfTokenizer } from './hf-tokenizer.ts';
export { ChatTemplate, renderChat, type ChatMessage, type ChatRenderOptions } from './chat-template.ts';
export { loadModelText, modelTextFrom, type ModelText } from './model-text.ts';
export { readHfTextFiles, type HfTextFiles } from './read-hf-files.ts';
export { parseTokenizerConfig, type TokenizerConfig } from './hf-config.ts';
export { TokenizerLoadError, ChatTemplateError } from './errors.ts';
export { StopMatcher, type StopPush } from './stop-matcher.ts';
