import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../gateway/errors/index.ts';
import {
  chatPrompt,
  chatRequest,
  completionRequest,
  parseChatBody,
  parseCompletionBody,
} from '../../../gateway/openai/index.ts';

const limits = { vocabSize: 257, contextLength: 1024, maxN: 8 };

function refused(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the request to be refused');
}

describe('OpenAI completions body', () => {
  it('maps OpenAI fields and defaults onto the engine', () => {
    const r = completionRequest(
      parseCompletionBody({
        model: 'm',
        prompt: 'hi',
        temperature: 0,
        top_p: 0.5,
        stop: 'x',
        seed: 7,
        n: 2,
        logprobs: 3,
        stream: true,
        stream_options: { include_usage: true },
      }),
      limits,
    );
    assert.equal(r.prompt, 'hi');
    assert.deepEqual(
      { ...r.params },
      {
        temperature: 0,
        topK: 0,
        topP: 0.5,
        seed: 7,
        maxTokens: 16,
        stop: ['x'],
        n: 2,
        logprobs: 3,
        ignoreEos: false,
      },
    );
    assert.equal(r.stream, true);
    assert.equal(r.includeUsage, true);
  });

  it('null means "use the default", as JSON clients send it', () => {
    const r = completionRequest(
      parseCompletionBody({ model: 'm', prompt: 'p', max_tokens: null, stop: null }),
      limits,
    );
    assert.equal(r.params.maxTokens, 16);
    assert.deepEqual(r.params.stop, []);
  });

  const cases: [string, unknown, string, string | null][] = [
    ['not an object', 'hello', 'invalid_request', null],
    ['no model', { prompt: 'p' }, 'invalid_request', 'model'],
    ['no prompt', { model: 'm' }, 'invalid_request', 'prompt'],
    ['prompt of wrong type', { model: 'm', prompt: 5 }, 'invalid_request', 'prompt'],
    ['unknown field', { model: 'm', prompt: 'p', best_of: 2 }, 'invalid_request', 'best_of'],
    ['max_tokens a string', { model: 'm', prompt: 'p', max_tokens: '5' }, 'invalid_request', 'max_tokens'],
    ['max_tokens 0', { model: 'm', prompt: 'p', max_tokens: 0 }, 'invalid_sampling_params', 'max_tokens'],
    [
      'max_tokens negative',
      { model: 'm', prompt: 'p', max_tokens: -3 },
      'invalid_sampling_params',
      'max_tokens',
    ],
    ['temperature 3', { model: 'm', prompt: 'p', temperature: 3 }, 'invalid_sampling_params', 'temperature'],
    ['top_p 0', { model: 'm', prompt: 'p', top_p: 0 }, 'invalid_sampling_params', 'top_p'],
    ['n over the limit', { model: 'm', prompt: 'p', n: 99 }, 'invalid_sampling_params', 'n'],
    ['logprobs 50', { model: 'm', prompt: 'p', logprobs: 50 }, 'invalid_sampling_params', 'logprobs'],
    ['stop of numbers', { model: 'm', prompt: 'p', stop: [1] }, 'invalid_request', 'stop'],
    ['echo', { model: 'm', prompt: 'p', echo: true }, 'invalid_request', 'echo'],
  ];
  for (const [name, body, code, param] of cases) {
    it(`refuses ${name} with ${code}`, () => {
      const e = refused(() => completionRequest(parseCompletionBody(body), limits));
      assert.equal(e.code, code);
      if (param) assert.equal(e.param, param, e.message);
      assert.ok(e.status >= 400 && e.status < 500);
      if (param) assert.match(e.message, new RegExp(param), 'the message names the field to fix');
    });
  }
});

describe('OpenAI chat body', () => {
  it('renders messages with the chat template and leaves the rest of the context to max_tokens', () => {
    const body = parseChatBody({
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Who art thou?' }] },
      ],
    });
    const prompt = 'System:\nBe brief.\n\nUser:\nWho art thou?\n\nAssistant:\n';
    assert.equal(chatPrompt(body.messages), prompt);
    const r = chatRequest(body, limits);
    assert.equal(r.prompt, prompt);
    assert.equal(r.params.maxTokens, 1024 - prompt.length);
    // A prompt in a model's own tokens leaves the rest of the context in those tokens.
    const ids = { ids: Array.from({ length: 100 }, (_, i) => i), tokenizerId: 't', text: prompt };
    assert.equal(chatRequest(body, limits, ids).params.maxTokens, 924);
  });

  for (const [name, body, param] of [
    ['no messages', { model: 'm', messages: [] }, 'messages'],
    ['bad role', { model: 'm', messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
    ['content missing', { model: 'm', messages: [{ role: 'user' }] }, 'messages.0.content'],
  ] as const) {
    it(`refuses ${name}`, () => {
      const e = refused(() => parseChatBody(body));
      assert.equal(e.code, 'invalid_request');
      assert.equal(e.param, param);
    });
  }
});
