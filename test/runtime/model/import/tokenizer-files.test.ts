import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ImportError, readTokenizerFiles } from '../../../../runtime/model/import/index.ts';
import { copyFixture, editJson } from './safetensors-reference.ts';

describe('tokenizer-side files', () => {
  const root = mkdtempSync(join(tmpdir(), 'warmgate-tokenizer-files-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const copy = (name: string) => copyFixture(name, join(root, `c${n++}`));

  it("takes tokenizer_config.json's template, a string or a list of named ones", async () => {
    const dir = copy('gpt2');
    editJson(join(dir, 'tokenizer_config.json'), (c) => (c.chat_template = '{{ messages }}'));
    const single = await readTokenizerFiles(dir);
    assert.deepEqual(single.chatTemplate, {
      source: '{{ messages }}',
      file: join(dir, 'tokenizer_config.json'),
    });
    editJson(join(dir, 'tokenizer_config.json'), (c) => {
      c.chat_template = [
        { name: 'default', template: 'D' },
        { name: 'tool_use', template: 'T' },
      ];
    });
    const listed = await readTokenizerFiles(dir);
    assert.equal(listed.chatTemplate?.source, 'D');
    assert.deepEqual(listed.namedChatTemplates, { tool_use: 'T' });
  });

  it('prefers chat_template.jinja, as transformers does, and reads additional_chat_templates/', async () => {
    const dir = copy('llama');
    editJson(join(dir, 'tokenizer_config.json'), (c) => (c.chat_template = 'from config'));
    mkdirSync(join(dir, 'additional_chat_templates'));
    writeFileSync(join(dir, 'additional_chat_templates', 'rag.jinja'), 'R');
    const files = await readTokenizerFiles(dir);
    assert.equal(files.chatTemplate?.file, join(dir, 'chat_template.jinja'));
    assert.deepEqual(files.namedChatTemplates, { rag: 'R' });
  });

  it("falls back to config.json's eos ids without generation_config.json, and reads sampling defaults", async () => {
    const dir = copy('qwen2');
    rmSync(join(dir, 'generation_config.json'));
    assert.deepEqual((await readTokenizerFiles(dir, [2])).generation, {
      eosTokenIds: [2],
      fromGenerationConfig: false,
    });
    writeFileSync(
      join(dir, 'generation_config.json'),
      JSON.stringify({
        eos_token_id: [151645, 151643],
        do_sample: true,
        temperature: 0.7,
        top_p: 0.8,
        top_k: 20,
      }),
    );
    assert.deepEqual((await readTokenizerFiles(dir, [2])).generation, {
      eosTokenIds: [151645, 151643],
      doSample: true,
      temperature: 0.7,
      topP: 0.8,
      topK: 20,
      fromGenerationConfig: true,
    });
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: ['</s>'] }));
    await assert.rejects(
      readTokenizerFiles(dir),
      (e) => e instanceof ImportError && e.code === 'config_invalid' && e.message.includes('"eos_token_id"'),
    );
  });

  it('refuses a malformed tokenizer_config.json', async () => {
    const dir = copy('llama');
    writeFileSync(join(dir, 'tokenizer_config.json'), '{ not json');
    await assert.rejects(
      readTokenizerFiles(dir),
      (e) =>
        e instanceof ImportError &&
        e.code === 'tokenizer_invalid' &&
        e.message.includes('tokenizer_config.json'),
    );
  });
});
