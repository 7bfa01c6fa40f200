import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chatPrompt } from '../../gateway/openai/index.ts';
import {
  DEFAULT_CONVERSATIONS,
  describeWorkload,
  loadWorkload,
  type WorkloadOptions,
} from '../../warmpool/soak/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'wg-soak-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// 60 requests over 59 s with long prompts, as the trace has them.
const trace = join(dir, 'trace.csv');
writeFileSync(
  trace,
  [
    'TIMESTAMP,ContextTokens,GeneratedTokens',
    ...Array.from(
      { length: 60 },
      (_, i) =>
        `2023-11-16 18:${String(15 + Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.0000000,${300 + 97 * i},${20 + 13 * i}`,
    ),
  ].join('\n'),
);

const options = (corpusPath: string): WorkloadOptions => ({
  tracePath: trace,
  corpusPath,
  modelPath: new URL('../../runtime/models/demo', import.meta.url).pathname,
  contextMargin: 64,
  schedule: { minutes: 0.5, maxRps: 1, tokenScale: 0.5, maxOutputTokens: 128, minPromptTokens: 32 },
  conversations: DEFAULT_CONVERSATIONS,
  warmup: 5,
});

test('the workload fits the demo model, from the corpus or the built-in text when it is absent', async () => {
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, 'KING LEAR:\nNothing will come of nothing: speak again.\n\n');
  for (const path of [corpus, join(dir, 'missing.txt')]) {
    const w = await loadWorkload(options(path));
    assert.equal(w.contextLength, 1024);
    assert.equal(w.requests.length, 30); // 60 in 30 s is 2 req/s, thinned to 1
    assert.equal(w.warmup.length, 5);
    assert.deepEqual(
      w.warmup.map((r) => r.atMs),
      [0, 100, 200, 300, 400],
    );
    for (const r of [...w.requests, ...w.warmup]) {
      const tokens = Buffer.byteLength(chatPrompt(r.messages));
      assert.equal(tokens, r.promptTokens);
      assert.ok(tokens + r.maxTokens <= 1024 - 64);
    }
    const lines = describeWorkload(w, options(path)).join('\n');
    assert.match(lines, /60 requests over 59 s/);
    assert.match(lines, path === corpus ? /chat messages from .*corpus\.txt/ : /built-in text/);
  }
});
