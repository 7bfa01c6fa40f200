import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ChatTemplate,
  ChatTemplateError,
  loadModelText,
  modelTextFrom,
  parseTokenizerConfig,
  renderChat,
  type ChatMessage,
} from '../../../runtime/engine/text/index.ts';
import {
  FIXTURE_NAMES,
  REAL_VOCABULARIES,
  fixtureDir,
  fixtureGolden,
  readJson,
  realGolden,
  type ChatGolden,
} from './hf-goldens.ts';

function chatError(fn: () => unknown): ChatTemplateError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ChatTemplateError, String(e));
    return e;
  }
  assert.fail('rendered');
}

function checkGoldens(template: ChatTemplate | null, goldens: readonly ChatGolden[]): void {
  for (const c of goldens) {
    const render = () => renderChat(template, c.messages, { addGenerationPrompt: c.add_generation_prompt });
    if (c.error !== undefined) {
      const e = chatError(render);
      assert.equal(e.code, 'chat_template_error');
      assert.equal(e.message, c.error);
    } else {
      assert.equal(render(), c.rendered);
    }
  }
}

for (const name of FIXTURE_NAMES.filter((n) => n !== 'gpt2')) {
  test(`the ${name} template renders what transformers' apply_chat_template rendered`, async () => {
    const { chatTemplate } = await loadModelText(fixtureDir(name));
    const goldens = fixtureGolden(name).chat;
    assert.equal(goldens.length, 3);
    checkGoldens(chatTemplate, goldens);
  });
}

test("the real Llama 3 template (tokenizer_config.json's chat_template) renders the goldens", async () => {
  const { chatTemplate } = await loadModelText(REAL_VOCABULARIES[0].dir);
  checkGoldens(chatTemplate, realGolden('llama3').chat!);
});

test("mistral's template refuses a system message with its own message", async () => {
  const { chatTemplate } = await loadModelText(fixtureDir('mistral'));
  const e = chatError(() => chatTemplate!.render([{ role: 'system', content: 'Be brief.' }]));
  assert.equal(e.code, 'chat_template_error');
  assert.equal(e.message, 'Conversation roles must alternate user/assistant/user/assistant/...');
});

test('a model without a template answers chat with chat_template_missing', async () => {
  const { chatTemplate } = await loadModelText(fixtureDir('gpt2'));
  assert.equal(chatTemplate, null);
  const e = chatError(() => renderChat(chatTemplate, [{ role: 'user', content: 'Hi' }]));
  assert.equal(e.code, 'chat_template_missing');
  assert.match(e.message, /no chat template/);
});

describe('where the template comes from', () => {
  const llama3Dir = fixtureDir('llama3');
  const tokenizer = readJson(join(llama3Dir, 'tokenizer.json'));
  const config = readJson(join(llama3Dir, 'tokenizer_config.json')) as Record<string, unknown>;
  const jinja = readFileSync(join(llama3Dir, 'chat_template.jinja'), 'utf8');
  const hello: ChatMessage[] = [{ role: 'user', content: 'Hello, who are you?' }];
  const expected = fixtureGolden('llama3').chat[0]!.rendered;

  test('tokenizer_config.json: a string, or the default of a list of named templates', () => {
    const fromString = modelTextFrom({ tokenizer, tokenizerConfig: { ...config, chat_template: jinja } });
    assert.equal(fromString.chatTemplate!.render(hello, { addGenerationPrompt: true }), expected);
    const listed = [
      { name: 'tool_use', template: '{{ raise_exception("not this one") }}' },
      { name: 'default', template: jinja },
    ];
    const fromList = modelTextFrom({ tokenizer, tokenizerConfig: { ...config, chat_template: listed } });
    assert.equal(fromList.chatTemplate!.render(hello, { addGenerationPrompt: true }), expected);
    const noDefault = modelTextFrom({
      tokenizer,
      tokenizerConfig: { ...config, chat_template: listed.slice(0, 1) },
    });
    assert.equal(noDefault.chatTemplate, null);
  });

  test('chat_template.jinja wins over tokenizer_config.json, as transformers v5 loads it', () => {
    const text = modelTextFrom({
      tokenizer,
      tokenizerConfig: { ...config, chat_template: 'not this one' },
      chatTemplateJinja: jinja,
    });
    assert.equal(text.chatTemplate!.render(hello, { addGenerationPrompt: true }), expected);
  });

  test('special tokens of tokenizer_config.json, as strings or AddedToken objects, reach the template', () => {
    const parsed = parseTokenizerConfig({ bos_token: { content: '<B>', special: true }, eos_token: '<E>' });
    const template = ChatTemplate.fromFiles(
      parsed,
      '{{ bos_token }}{{ messages[0].content }}{{ eos_token }}',
    );
    assert.equal(template!.render(hello), '<B>Hello, who are you?<E>');
  });
});

describe('template failures', () => {
  test('a template that does not parse is chat_template_invalid', () => {
    const e = chatError(() => new ChatTemplate('{% if messages %}unclosed'));
    assert.equal(e.code, 'chat_template_invalid');
  });

  test('a template failing on the messages is chat_template_error, said to be the template', () => {
    const template = new ChatTemplate('{{ messages[0].content.upper() }}');
    const e = chatError(() => template.render([]));
    assert.equal(e.code, 'chat_template_error');
    assert.match(e.message, /chat template failed on these messages/);
  });

  test('strftime_now reads the clock it is given, in English whatever the locale', () => {
    const template = new ChatTemplate(
      "Today: {{ strftime_now('%d %b %Y') }} ({{ strftime_now('%A %B %-d') }})",
      {},
      () => new Date(2024, 6, 6),
    );
    assert.equal(template.render([]), 'Today: 06 Jul 2024 (Saturday July 6)');
  });

  test('range() and Python constants are there', () => {
    const template = new ChatTemplate(
      '{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}{% if True and not False and None is none %}!{% endif %}',
    );
    assert.equal(template.render([]), '135!');
  });
});
