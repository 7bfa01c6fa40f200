// The gateway counts tokens and renders chats with runtime/engine/text/, so that folder must not load
// ONNX Runtime. A real process imports it, loads a real tokenizer and template, and records what it resolved.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../../', import.meta.url).pathname;

test('runtime/engine/text/ loads without onnxruntime-node (real process)', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'warmgate-text-loads-'));
  try {
    const log = join(dir, 'text.log');
    const script = [
      "const text = await import('./runtime/engine/text/index.ts');",
      "const { tokenizer, chatTemplate } = await text.loadModelText('test/fixtures/hf/llama3');",
      "const prompt = chatTemplate.render([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });",
      'if (tokenizer.encode(prompt, { addSpecialTokens: false }).length < 5) process.exit(3);',
    ].join('\n');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './test/support/module-loads/register.mjs',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: root, env: { ...process.env, LOADED_MODULES_LOG: log }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, err);
    const loaded = (await readFile(log, 'utf8')).split('\n');
    assert.ok(
      loaded.some((url) => url.includes('@huggingface/tokenizers')),
      'the recording saw the tokenizer',
    );
    assert.deepEqual(
      loaded.filter((url) => /onnxruntime/.test(url)),
      [],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
