import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import {
  type Engine,
  type GenerationEvent,
  PRIORITY,
  type RequestTimes,
  validateSamplingParams,
} from '../../engine/index.ts';
import { ApiError } from '../../errors/index.ts';
import { contextFromHeaders } from '../../telemetry/index.ts';
import { GenerateTrace } from '../generate-trace.ts';
import type { RuntimeInstance } from '../instance.ts';
import { parseGenerateBody } from './generate-body.ts';
import { readJson } from './read-json.ts';
import { readyPart } from './ready-part.ts';
import { tokenTexts, withTokenTexts } from './token-texts.ts';

/** Stop strings the instance takes per request, and their longest length. */
const MAX_STOP = 4;
const MAX_STOP_LENGTH = 64;

/**
 * POST /generate: one generation, streamed as NDJSON GenerationEvents once the engine admitted it (with
 * logprobs of a Hugging Face model, each token event names its tokens: GenerationEvent's tokenText). A
 * refusal (not ready, a bad body, bad sampling params, an engine admission code) is an ApiError, answered
 * by the app's onError with its catalog status before any byte of the stream.
 */
export function generateRoute(inst: RuntimeInstance): Hono {
  return new Hono().post('/generate', async (c) => {
    const model = inst.modelName;
    const span = new GenerateTrace(
      inst.telemetry.tracer,
      contextFromHeaders((n) => c.req.header(n)),
      model,
      (r) => inst.metrics.request(model, r),
    );
    try {
      const engine = readyPart(inst, inst.engine);
      const body = parseGenerateBody(await readJson(c));
      const tokens = typeof body.prompt === 'string' ? inst.tokenizer.encode(body.prompt) : body.prompt;
      const checked = validateSamplingParams(body.params ?? {}, samplingLimits(engine));
      if (!checked.ok) {
        throw new ApiError('invalid_sampling_params', checked.message, { param: checked.field });
      }
      // An adapter is loaded before the request is admitted: a refused one is a 4xx, never a mid-stream error.
      if (body.adapter !== undefined) await inst.adapters.ensure(body.adapter.id, body.adapter.path);
      const r = engine.submit({
        ...(body.adapter !== undefined && { adapter: body.adapter.id }),
        prompt: tokens,
        params: checked.params,
        priority: body.priority === 1 ? PRIORITY.batch : PRIORITY.interactive,
        signal: c.req.raw.signal, // the client left: the engine drops the request and frees its blocks
      });
      if (!r.ok) {
        const { code, message, field } = r.error;
        throw new ApiError(code, message, field === undefined ? {} : { param: field });
      }
      span.admitted(r.requestId, tokens.length, checked.params, r.times);
      // Logprobs of a model with its own tokenizer name their tokens here, where the tokenizer is; a
      // byte-level model's tokens are bytes, which the caller names itself.
      const named =
        checked.params.logprobs > 0 && inst.servedTokenizer?.tokenizer.type === 'huggingface'
          ? tokenTexts(inst.tokenizer)
          : null;
      c.header('Content-Type', 'application/x-ndjson');
      c.header('X-Request-Id', r.requestId);
      return stream(c, (s) =>
        inst.trackGenerate(async () => {
          s.onAbort(() => {
            inst.engine?.abort(r.requestId);
          });
          let failure: { message: string } | undefined;
          try {
            for await (const ev of r.events) {
              span.observe(ev);
              const out =
                named && ev.type === 'token'
                  ? withTokenTexts(ev, named)
                  : ev.type === 'finish'
                    ? withTiming(ev, r.times)
                    : ev;
              await s.write(`${JSON.stringify(out)}\n`);
            }
          } catch (e) {
            failure = { message: e instanceof Error ? e.message : String(e) };
            throw e;
          } finally {
            span.end(s.aborted, failure);
          }
        }),
      );
    } catch (e) {
      // A refusal is recorded as such; anything else is unexpected, and the span still ends.
      if (e instanceof ApiError) span.rejected(e.code, e.message);
      else span.end(false, { message: String(e) });
      throw e;
    }
  });
}

function samplingLimits(engine: Engine): Parameters<typeof validateSamplingParams>[1] {
  const arch = engine.model.manifest.architecture;
  return {
    vocabSize: arch.vocab_size,
    maxN: engine.config.maxN,
    maxStop: MAX_STOP,
    maxStopLength: MAX_STOP_LENGTH,
    maxTokens: arch.context_length,
  };
}

/** A sample's end with the request's timing (arrival to first token, first token to now), when known. */
function withTiming(ev: Extract<GenerationEvent, { type: 'finish' }>, t: RequestTimes): GenerationEvent {
  if (t.firstTokenAt === null) return ev;
  const now = performance.now();
  return { ...ev, timing: { ttftMs: t.firstTokenAt - t.arrivedAt, decodeMs: now - t.firstTokenAt } };
}
