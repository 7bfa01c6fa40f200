import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { ChatTemplateError } from './errors.ts';
import type { TokenizerConfig } from './hf-config.ts';
import { templateGlobals } from './template-globals.ts';

/** One chat turn as templates read it; fields beyond role and content (name, tool_calls) pass through. */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  readonly [field: string]: unknown;
}

export interface ChatRenderOptions {
  /** End with the header that opens the assistant's turn, so the model answers. Default false, as transformers. */
  readonly addGenerationPrompt?: boolean;
}

/** Thrown by the template's raise_exception; render turns it into chat_template_error with its message. */
class TemplateRaised extends Error {}

/**
 * A model's chat template (Jinja, rendered by @huggingface/jinja, Hugging Face's own port for chat
 * templates), with the variables transformers' apply_chat_template gives it: messages,
 * add_generation_prompt, the special tokens of tokenizer_config.json (bos_token, eos_token...), tools
 * and documents as none, and raise_exception.
 */
export class ChatTemplate {
  readonly source: string;
  readonly #template: Template;
  readonly #specialTokens: Readonly<Record<string, unknown>>;
  readonly #now: () => Date;

  /**
   * Throws ChatTemplateError('chat_template_invalid') when the source does not parse. `now` is the
   * clock strftime_now reads.
   */
  constructor(
    source: string,
    specialTokens: Readonly<Record<string, unknown>> = {},
    now: () => Date = () => new Date(),
  ) {
    this.source = source;
    this.#now = now;
    try {
      this.#template = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(
        'chat_template_invalid',
        `the model's chat template does not parse (${(e as Error).message}): fix chat_template in tokenizer_config.json or chat_template.jinja`,
      );
    }
    this.#specialTokens = specialTokens;
  }

  /** The template of these files: chat_template.jinja when there is one (transformers v5 writes it), else tokenizer_config.json's; null when neither has one. */
  static fromFiles(config: TokenizerConfig, jinja?: string): ChatTemplate | null {
    const source = jinja ?? config.chatTemplate;
    if (source === null) return null;
    const special: Record<string, unknown> = {};
    const named = {
      bos_token: config.bosToken,
      eos_token: config.eosToken,
      unk_token: config.unkToken,
      pad_token: config.padToken,
    };
    for (const [name, token] of Object.entries(named)) if (token !== null) special[name] = token;
    special.additional_special_tokens = config.additionalSpecialTokens;
    return new ChatTemplate(source, special);
  }

  /** The prompt text. Throws ChatTemplateError('chat_template_error') when the template refuses the messages. */
  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    // Template.render would declare the library's own raise_exception, whose Error cannot be told from
    // the template's bugs; this environment declares ours.
    const env = new Environment();
    const variables = {
      ...templateGlobals(this.#now),
      ...this.#specialTokens,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      tools: null,
      documents: null,
      raise_exception: (message: unknown) => {
        throw new TemplateRaised(String(message));
      },
    };
    for (const [name, value] of Object.entries(variables)) env.set(name, value);
    try {
      const out = new Interpreter(env).run(this.#template.parsed).value;
      return String(out);
    } catch (e) {
      if (e instanceof TemplateRaised) throw new ChatTemplateError('chat_template_error', e.message);
      throw new ChatTemplateError(
        'chat_template_error',
        `the model's chat template failed on these messages: ${(e as Error).message}`,
      );
    }
  }
}

/** The prompt for a chat request; a model without a template is chat_template_missing (answer 400, never guess). */
export function renderChat(
  template: ChatTemplate | null,
  messages: readonly ChatMessage[],
  options: ChatRenderOptions = {},
): string {
  if (template === null) {
    throw new ChatTemplateError(
      'chat_template_missing',
      'this model has no chat template: use the completions API, or import a model whose tokenizer_config.json has chat_template',
    );
  }
  return template.render(messages, options);
}
