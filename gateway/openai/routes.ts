import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { GenerationEvent } from '../../runtime/engine/api.ts';
import type { GatewayContext } from '../dispatch/context.ts';
import { validated } from '../dispatch/forward.ts';
import { type PromptFor, startGenerationSession } from '../dispatch/generation.ts';
import {
  type GenerationTarget,
  generationTarget,
  type VersionPick,
  versionPick,
} from '../dispatch/generation-target.ts';
import { readJson } from '../http/read-body.ts';
import { sessionOf } from '../http/session-header.ts';
import { clientSignal } from '../http/client-signal.ts';
import { markStreaming, noteContent, noteModel } from '../http/request-span.ts';
import { type DeploymentText, type Prompt, promptText } from '../model-text/index.ts';
import { TOKEN_TEXTS, type TokenTexts } from './token-text.ts';
import { narrowing, type RequestPolicy, type SamplingLimitsForModel } from './input-limits.ts';
import { ChoiceAccumulator } from './choice-accumulator.ts';
import { chatRequest, parseChatBody } from './chat-request.ts';
import { completionRequest, parseCompletionBody } from './completions-request.ts';
import { chatPromptFor, completionPrompt } from './model-prompt.ts';
import {
  chatChunk,
  chatLogprobs,
  chatResponse,
  completionChunk,
  completionLogprobs,
  completionResponse,
  finishReason,
  responseId,
  type ResponseIds,
  usage,
} from './responses.ts';
import type { GenerationRequest } from './sampling-request.ts';
import { ApiError, openAIErrorBody } from '../errors/index.ts';
import type { DeploymentSpec } from '../deployments/index.ts';

type Flavor = 'completion' | 'chat';

/** OpenAI-compatible routes: /v1/completions, /v1/chat/completions, /v1/models. */
export function openAIRoutes(gw: GatewayContext, policy: RequestPolicy = {}): Hono {
  const limits = policy.limits ?? {};
  const narrow = narrowing(limits);
  const app = new Hono();

  // An adapter is listed as vLLM lists its LoRA modules: with its base as `parent`.
  const modelEntry = (d: DeploymentSpec) => ({
    id: d.name,
    object: 'model',
    created: gw.createdAt(d.name),
    owned_by: 'warmgate',
    ...(d.kind === 'adapter' && { parent: d.base }),
  });

  app.get('/models', (c) =>
    c.json({
      object: 'list',
      data: gw.deployments
        .list()
        .filter((d) => d.kind !== 'tensor' && d.kind !== 'pipeline') // functions, not models
        .map(modelEntry),
    }),
  );

  app.get('/models/:name', (c) => {
    const d = gw.deployments.get(c.req.param('name'));
    if (!d || d.kind === 'tensor' || d.kind === 'pipeline') throw modelNotFound(c.req.param('name'));
    return c.json(modelEntry(d));
  });

  // The prompt is made here when the model's text is known (a byte model: always, once an instance has
  // reported), so its 400s come before any queue; else the session makes it once it knows the text.
  app.post('/completions', async (c) => {
    const raw = await readJson(c);
    const body = validated(gw.tracer, () => parseCompletionBody(raw));
    const target = generativeTarget(
      gw,
      body.model,
      versionPick(gw.registry, (h) => c.req.header(h)),
      sessionOf(c),
    );
    const text = gw.texts.peek(target.pool);
    const made = text
      ? completionPrompt(text, body.prompt, limits)
      : (t: DeploymentText) => completionPrompt(t, body.prompt, limits);
    // A Hugging Face model's prompt comes from its tokenizer worker; a byte model's is made already.
    const prompt = made instanceof Promise ? await made : made;
    return generate(c, gw, policy, 'completion', target, prompt, (body.logprobs ?? 0) > 0, (m, p) =>
      completionRequest(body, narrow(m), p),
    );
  });

  app.post('/chat/completions', async (c) => {
    const raw = await readJson(c);
    const body = validated(gw.tracer, () => parseChatBody(raw));
    const target = generativeTarget(
      gw,
      body.model,
      versionPick(gw.registry, (h) => c.req.header(h)),
      sessionOf(c),
    );
    const text = gw.texts.peek(target.pool);
    const made = text
      ? chatPromptFor(text, body.messages, limits)
      : (t: DeploymentText) => chatPromptFor(t, body.messages, limits);
    const prompt = made instanceof Promise ? await made : made;
    return generate(c, gw, policy, 'chat', target, prompt, body.logprobs === true, (m, p) =>
      chatRequest(body, narrow(m), p),
    );
  });

  return app;
}

/** A generative deployment or an adapter by name, else model_not_found. */
function generativeTarget(
  gw: GatewayContext,
  name: string,
  pick: VersionPick,
  session: string | undefined,
): GenerationTarget {
  const target = generationTarget(gw.deployments, name, pick);
  if (target === null) throw modelNotFound(name);
  return session === undefined ? target : { ...target, session };
}

export function modelNotFound(name: string): ApiError {
  return new ApiError(
    'model_not_found',
    `model '${name}' is not deployed: GET /v1/models lists the deployed models`,
    {
      param: 'model',
    },
  );
}

async function generate(
  c: Context,
  gw: GatewayContext,
  policy: RequestPolicy,
  flavor: Flavor,
  target: GenerationTarget,
  prompt: Prompt | PromptFor,
  logprobs: boolean,
  build: (limits: SamplingLimitsForModel, prompt: Prompt) => GenerationRequest,
): Promise<Response> {
  const model = target.name;
  noteModel(c, model, flavor === 'chat' ? 'chat' : 'text_completion');
  const made = typeof prompt !== 'function';
  if (made) noteContent(policy.recordContent, { 'gen_ai.prompt': promptText(prompt) });
  const gate = gw.gate(model, target.pool);
  const session = await startGenerationSession(gw, gate, target, prompt, build, clientSignal(c));
  // Which version answered: a client (or a test) can tell a canary's answers from the stable's.
  if (target.version !== null) c.header('x-warmgate-version', String(target.version));
  const req = session.request;
  // How tokens read in logprobs: as the instance named them (an imported model's), else as bytes.
  const texts = logprobs ? TOKEN_TEXTS : null;
  if (!made) noteContent(policy.recordContent, { 'gen_ai.prompt': promptText(req.prompt) });
  const ids: ResponseIds = {
    id: responseId(flavor === 'chat' ? 'chatcmpl' : 'cmpl'),
    created: Math.floor(gw.clock.now() / 1000),
    model,
  };
  if (session.whole) {
    const acc = new ChoiceAccumulator(req.params.n);
    for (const ev of session.whole) {
      if (ev.type === 'error') throw new ApiError('engine_step_failed', ev.message);
      acc.add(ev);
    }
    const u = usage(acc.promptTokens, acc.completionTokens);
    noteContent(policy.recordContent, { 'gen_ai.completion': acc.choices.map((ch) => ch.text).join('\n') });
    return c.json(
      flavor === 'chat'
        ? chatResponse(ids, acc.choices, texts, u)
        : completionResponse(ids, acc.choices, texts, u),
    );
  }
  markStreaming(c);
  return streamSSE(c, async (sse) => {
    const usageField = req.includeUsage ? null : undefined;
    const send = (chunk: unknown) => sse.writeSSE({ data: JSON.stringify(chunk) });
    let promptTokens = 0;
    let completionTokens = 0;
    if (flavor === 'chat') {
      for (let index = 0; index < req.params.n; index++) {
        await send(
          chatChunk(
            ids,
            { index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
            usageField,
          ),
        );
      }
    }
    try {
      for await (const ev of session.events) {
        if (ev.type === 'error') {
          await send({ error: { message: ev.message, type: 'server_error', param: null, code: ev.code } });
          return;
        }
        if (ev.type === 'finish') {
          promptTokens = ev.promptTokens;
          completionTokens += ev.completionTokens;
        }
        await send(chunkOf(flavor, ids, ev, texts, usageField));
      }
    } catch (e) {
      // The instance went away mid-stream: an error event, else the client takes the cut for an end.
      if (!(e instanceof ApiError)) throw e;
      await send(openAIErrorBody(e));
      return;
    }
    if (req.includeUsage) {
      const u = usage(promptTokens, completionTokens);
      await send(flavor === 'chat' ? chatChunk(ids, null, u) : completionChunk(ids, null, u));
    }
    await sse.writeSSE({ data: '[DONE]' });
  });
}

function chunkOf(
  flavor: Flavor,
  ids: ResponseIds,
  ev: Exclude<GenerationEvent, { type: 'error' }>,
  texts: TokenTexts | null,
  usageField: null | undefined,
) {
  const tokens = ev.type === 'token' ? [ev] : [];
  const reason = ev.type === 'finish' ? finishReason(ev.reason) : null;
  if (flavor === 'chat') {
    return chatChunk(
      ids,
      {
        index: ev.index,
        delta: ev.text || ev.type === 'token' ? { content: ev.text } : {},
        logprobs: texts && tokens.length ? chatLogprobs(tokens, texts) : null,
        finish_reason: reason,
      },
      usageField,
    );
  }
  return completionChunk(
    ids,
    {
      index: ev.index,
      text: ev.text,
      logprobs: texts && tokens.length ? completionLogprobs(tokens, 0, texts) : null,
      finish_reason: reason,
    },
    usageField,
  );
}
