import { chatPrompt } from '../../gateway/openai/index.ts';
import { mulberry32 } from '../sim/prng.ts';
import type { PlannedRequest } from './schedule.ts';

export interface SoakMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** A planned request with its chat messages. */
export interface SoakRequest extends PlannedRequest {
  readonly messages: readonly SoakMessage[];
  readonly conversation: number;
  /** 1 for a conversation's first request. */
  readonly turn: number;
}

export interface ConversationOptions {
  readonly seed: number;
  /** Chance that a request continues an open conversation (its history is the prompt's prefix). */
  readonly reuse: number;
  /** Conversations that can still be continued; the oldest is closed when a new one opens. */
  readonly open: number;
  /** Distinct system prompts, shared by every conversation that draws one. */
  readonly systemPrompts: number;
  readonly systemTokens: number;
}

export const DEFAULT_CONVERSATIONS: ConversationOptions = {
  seed: 1,
  reuse: 0.5,
  open: 32,
  systemPrompts: 4,
  systemTokens: 64,
};

interface Conversation {
  readonly id: number;
  readonly history: SoakMessage[];
  /** Where its next text is read from the corpus. */
  cursor: number;
  turns: number;
}

/** Printable ASCII and newlines only, so one character is one byte is one token of the byte-level model. */
export function asciiCorpus(text: string): string {
  const s = text.replace(/\r\n?/g, '\n').replace(/[^\n\x20-\x7e]/g, ' ');
  if (s.length === 0) throw new RangeError('the corpus is empty');
  return s;
}

/** `length` characters of the corpus from `from`, wrapping around its end. */
function slice(corpus: string, from: number, length: number): string {
  let out = '';
  let at = from % corpus.length;
  while (out.length < length) {
    const piece = corpus.slice(at, at + length - out.length);
    out += piece;
    at = (at + piece.length) % corpus.length;
  }
  return out;
}

const promptLength = (messages: readonly SoakMessage[]) => chatPrompt(messages).length;

/**
 * Chat messages for each planned request, `promptTokens` long exactly once the gateway's chat template
 * renders them. A request continues an open conversation (chance `reuse`), one whose history leaves
 * room for a new user turn, so its prompt starts with the previous
 * request's prompt and that request's reply: prefix-cache hits, as in a chat service. Otherwise it
 * opens a conversation, with one of a few shared system prompts when there is room. Text is read from
 * the corpus (Tiny Shakespeare); the "replies" in a history are corpus text of the planned output
 * length, not what the model generated. Deterministic for a seed.
 */
export function buildConversations(
  planned: readonly PlannedRequest[],
  corpusText: string,
  o: ConversationOptions = DEFAULT_CONVERSATIONS,
): SoakRequest[] {
  const corpus = asciiCorpus(corpusText);
  const random = mulberry32(o.seed);
  const pick = (n: number) => Math.min(n - 1, Math.floor(random() * n));
  const systems = Array.from({ length: o.systemPrompts }, (_, i) =>
    slice(corpus, pick(corpus.length) + i, o.systemTokens),
  );
  const open: Conversation[] = [];
  let next = 0;
  return planned.map((p) => {
    const withUser = (history: readonly SoakMessage[]) =>
      promptLength([...history, { role: 'user', content: '' }]);
    let conv: Conversation | undefined;
    if (open.length > 0 && random() < o.reuse) {
      // Any open conversation whose history leaves room for a new user turn; none fits → a new one.
      const fits = open.filter((c) => withUser(c.history) < p.promptTokens);
      if (fits.length > 0) conv = fits[pick(fits.length)]!;
    }
    if (!conv) {
      const history: SoakMessage[] = [];
      if (systems.length > 0) {
        const system: SoakMessage = { role: 'system', content: systems[pick(systems.length)]! };
        if (withUser([system]) < p.promptTokens) history.push(system);
      }
      conv = { id: next++, history, cursor: pick(corpus.length), turns: 0 };
      open.push(conv);
      if (open.length > o.open) open.shift();
    }
    const userLength = p.promptTokens - withUser(conv.history);
    if (userLength < 1)
      throw new RangeError(`prompt of ${p.promptTokens} tokens leaves no room for the template`);
    const user: SoakMessage = { role: 'user', content: slice(corpus, conv.cursor, userLength) };
    const messages = [...conv.history, user];
    conv.cursor += userLength;
    conv.history.push(user, { role: 'assistant', content: slice(corpus, conv.cursor, p.maxTokens) });
    conv.cursor += p.maxTokens;
    conv.turns++;
    return { ...p, messages, conversation: conv.id, turn: conv.turns };
  });
}
