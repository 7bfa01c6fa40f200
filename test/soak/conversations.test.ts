import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chatPrompt } from '../../gateway/openai/index.ts';
import {
  asciiCorpus,
  buildConversations,
  DEFAULT_CONVERSATIONS,
  type PlannedRequest,
} from '../../warmpool/soak/index.ts';

const CORPUS =
  'ROMEO:\nBut, soft! what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n';

/** Growing prompts, so most requests can continue a conversation. */
const planned: PlannedRequest[] = Array.from({ length: 200 }, (_, i) => ({
  atMs: i * 10,
  promptTokens: 40 + ((i * 37) % 700),
  maxTokens: 1 + ((i * 13) % 60),
}));

test('each prompt renders to exactly its planned length in tokens (bytes)', () => {
  const built = buildConversations(planned, CORPUS);
  assert.equal(built.length, planned.length);
  for (const [i, r] of built.entries()) {
    const prompt = chatPrompt(r.messages);
    assert.equal(Buffer.byteLength(prompt), planned[i]!.promptTokens, `request ${i}`);
    assert.equal(r.atMs, planned[i]!.atMs);
    assert.equal(r.maxTokens, planned[i]!.maxTokens);
    assert.equal(r.messages.at(-1)!.role, 'user');
  }
});

test('a continued conversation starts with its previous prompt and that reply', () => {
  const built = buildConversations(planned, CORPUS, { ...DEFAULT_CONVERSATIONS, reuse: 0.8 });
  const continued = built.filter((r) => r.turn > 1);
  assert.ok(continued.length > built.length / 4, `${continued.length} continued`);
  for (const r of continued) {
    const prev = built.findLast((p) => p.conversation === r.conversation && p.turn === r.turn - 1);
    assert.ok(prev, `turn ${r.turn - 1} of conversation ${r.conversation}`);
    assert.ok(built.indexOf(prev) < built.indexOf(r));
    assert.ok(chatPrompt(r.messages).startsWith(chatPrompt(prev.messages)));
    const reply = r.messages[prev.messages.length]!;
    assert.equal(reply.role, 'assistant');
    assert.equal(reply.content.length, prev.maxTokens);
  }
  // System prompts are shared across conversations: more conversations than distinct system texts.
  const systems = new Set(
    built.flatMap((r) => (r.messages[0]!.role === 'system' ? [r.messages[0]!.content] : [])),
  );
  assert.ok(systems.size >= 1 && systems.size <= DEFAULT_CONVERSATIONS.systemPrompts);
});

test('reuse 0: every request opens a conversation; the same seed gives the same messages', () => {
  const fresh = buildConversations(planned, CORPUS, { ...DEFAULT_CONVERSATIONS, reuse: 0 });
  assert.ok(fresh.every((r) => r.turn === 1));
  assert.equal(new Set(fresh.map((r) => r.conversation)).size, planned.length);
  assert.deepEqual(buildConversations(planned, CORPUS), buildConversations(planned, CORPUS));
  assert.notDeepEqual(
    buildConversations(planned, CORPUS, { ...DEFAULT_CONVERSATIONS, seed: 2 }),
    buildConversations(planned, CORPUS),
  );
});

test('a prompt too short for the chat template throws; the corpus is made one byte per character', () => {
  assert.throws(() => buildConversations([{ atMs: 0, promptTokens: 19, maxTokens: 1 }], CORPUS), RangeError);
  assert.equal(
    buildConversations([{ atMs: 0, promptTokens: 20, maxTokens: 1 }], CORPUS)[0]!.messages.length,
    1,
  );
  assert.equal(asciiCorpus('a\r\nb\tc—d'), 'a\nb c d');
  assert.throws(() => asciiCorpus(''), RangeError);
});
