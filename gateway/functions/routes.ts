import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { ApiError } from '../errors/index.ts';
import { modelNotFound } from '../openai/routes.ts';
import { ajv, generationRequest, schemaError } from '../openai/sampling-request.ts';
import { ChoiceAccumulator } from '../openai/choice-accumulator.ts';
import { finishReason, usage } from '../openai/responses.ts';
import type { GatewayContext } from '../dispatch/context.ts';
import { validated } from '../dispatch/forward.ts';
import { startGenerationSession } from '../dispatch/generation.ts';
import { generationTarget } from '../dispatch/generation-target.ts';
import { readJson } from '../http/read-body.ts';
import { clientSignal } from '../http/client-signal.ts';
import { markStreaming, noteContent, noteModel } from '../http/request-span.ts';
import { narrowed, type RequestPolicy } from '../openai/input-limits.ts';
import { completionPrompt } from '../openai/model-prompt.ts';
import type { DeploymentText } from '../model-text/index.ts';
import { callTensorModel } from '../dispatch/tensor-call.ts';
import {
  checkFunctionInputs,
  DEFAULT_GENERATIVE_SCHEMA,
  DEFAULT_TENSOR_SCHEMA,
  generativeCall,
  nest,
  tensorInputs,
} from './function-body.ts';

const defaultGenerative = ajv.compile(DEFAULT_GENERATIVE_SCHEMA);
const defaultTensor = ajv.compile(DEFAULT_TENSOR_SCHEMA);

/**
 * Every deployment as an HTTP function: POST /v1/functions/{name}. The body is checked against the
 * deployment's input JSON Schema (compiled once, when the deployment was created) or the kind's default.
 * Generative functions answer { output, finish_reason, usage } or stream NDJSON when the body says
 * stream: true; tensor functions answer { outputs: { name: nested array } }.
 */
export function functionRoutes(gw: GatewayContext, policy: RequestPolicy = {}): Hono {
  const limits = policy.limits ?? {};
  const app = new Hono();

  app.post('/:name', async (c) => {
    const name = c.req.param('name');
    const d = gw.deployments.get(name);
    if (!d) throw modelNotFound(name);
    noteModel(c, name, d.kind === 'tensor' ? 'tensor_inference' : 'text_completion');
    const body = await readJson(c);
    validated(gw.tracer, () => {
      if (d.inputSchema) {
        const r = gw.deployments.validateInput(name, body);
        if (!r.ok) throw r.error;
      } else {
        const validate = d.kind === 'tensor' ? defaultTensor : defaultGenerative;
        if (!validate(body)) throw schemaError(validate.errors);
      }
    });
    const fields = body as Record<string, unknown>;
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      throw new ApiError('invalid_request', 'the body must be a JSON object');
    }

    if (d.kind === 'tensor') {
      if (typeof fields.inputs !== 'object' || fields.inputs === null || Array.isArray(fields.inputs)) {
        throw new ApiError('invalid_tensor', "'inputs' must map input names to nested arrays", {
          param: 'inputs',
        });
      }
      const given = tensorInputs(fields.inputs as Record<string, unknown>);
      const result = await callTensorModel(gw, name, (m) => checkFunctionInputs(given, m), clientSignal(c));
      return c.json({
        outputs: Object.fromEntries(result.outputs.map((o) => [o.name, nest(o.data, o.shape)])),
      });
    }

    const target = generationTarget(gw.deployments, name)!;
    const { prompt, fields: sampling } = generativeCall(fields, d.promptTemplate);
    // As a completion's: made now when the model's text is known, else by the session once it is.
    const text = gw.texts.peek(target.pool);
    const making = text
      ? completionPrompt(text, prompt, limits)
      : (t: DeploymentText) => completionPrompt(t, prompt, limits);
    // A Hugging Face model's prompt comes from its tokenizer worker; a byte model's is made already.
    const made = making instanceof Promise ? await making : making;
    noteContent(policy.recordContent, { 'gen_ai.prompt': prompt });
    const session = await startGenerationSession(
      gw,
      gw.gate(name),
      target,
      made,
      (m, p) =>
        generationRequest({ ...sampling, model: name }, p, narrowed(m, limits), {
          logprobs: 0,
          defaultMaxTokens: 64,
        }),
      clientSignal(c),
    );
    const n = session.request.params.n;
    if (session.whole) {
      const acc = new ChoiceAccumulator(n);
      for (const ev of session.whole) {
        if (ev.type === 'error') throw new ApiError('engine_step_failed', ev.message);
        acc.add(ev);
      }
      const u = usage(acc.promptTokens, acc.completionTokens);
      noteContent(policy.recordContent, { 'gen_ai.completion': acc.choices.map((ch) => ch.text).join('\n') });
      const outs = acc.choices.map((ch) => ({
        output: ch.text,
        finish_reason: finishReason(ch.finishReason),
      }));
      return c.json(n === 1 ? { ...outs[0], usage: u } : { outputs: outs, usage: u });
    }
    c.header('Content-Type', 'application/x-ndjson');
    markStreaming(c);
    return stream(c, async (s) => {
      let promptTokens = 0;
      let completionTokens = 0;
      try {
        for await (const ev of session.events) {
          if (ev.type === 'error') {
            await s.write(`${JSON.stringify({ error: { code: ev.code, message: ev.message } })}\n`);
            return;
          }
          if (ev.type === 'token') {
            if (ev.text) await s.write(`${JSON.stringify({ index: ev.index, text: ev.text })}\n`);
            continue;
          }
          promptTokens = ev.promptTokens;
          completionTokens += ev.completionTokens;
          await s.write(
            `${JSON.stringify({ index: ev.index, text: ev.text, finish_reason: finishReason(ev.reason) })}\n`,
          );
        }
      } catch (e) {
        // The instance went away mid-stream: say so in the stream rather than end it as if complete.
        if (!(e instanceof ApiError)) throw e;
        await s.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
        return;
      }
      await s.write(`${JSON.stringify({ done: true, usage: usage(promptTokens, completionTokens) })}\n`);
    });
  });

  return app;
}
