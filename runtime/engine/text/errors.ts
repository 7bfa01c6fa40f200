/** A tokenizer that cannot be loaded: `code` is stable, `message` says which file and what to do. */
export class TokenizerLoadError extends Error {
  readonly code: 'tokenizer_missing' | 'tokenizer_invalid';
  constructor(code: TokenizerLoadError['code'], message: string) {
    super(message);
    this.name = 'TokenizerLoadError';
    this.code = code;
  }
}

/**
 * A chat request the model's template cannot serve. `chat_template_missing`: the model has no template
 * (answer 400, do not guess one). `chat_template_error`: the template refused these messages through
 * raise_exception (the message is the template's own) or failed on them. `chat_template_invalid`: the
 * template itself does not parse (the model folder is at fault, found when it loads).
 */
export class ChatTemplateError extends Error {
  readonly code: 'chat_template_missing' | 'chat_template_error' | 'chat_template_invalid';
  constructor(code: ChatTemplateError['code'], message: string) {
    super(message);
    this.name = 'ChatTemplateError';
    this.code = code;
  }
}

export function tokenizerInvalid(message: string): TokenizerLoadError {
  return new TokenizerLoadError('tokenizer_invalid', `${message}: fix the file or import the model again`);
}
