import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { stream } from 'hono/streaming';
import { PRIORITY, validateSamplingParams } from '../engine/index.ts';
import type { NamedTensor } from '../tensor/index.ts';
import { contextFromHeaders } from '../telemetry/index.ts';
import { GenerateTrace } from './generate-trace.ts';
import { type InferOutcome, traceInfer } from './infer-trace.ts';
import type { RuntimeInstance } from './instance.ts';
import { LOAD_HEADER, loadReport } from './load-report.ts';
import { instanceMetadata } from './metadata.ts';

/**
 * Largest body the instance reads. Above the gateway's default (4 MiB): a tensor body the gateway
 * re-serializes as flat numbers may grow a little on the way.
 */
export const DEFAULT_INSTANCE_BODY_LIMIT = 32 * 2 ** 20;

interface ApiError {
  code: string;
  message: string;
  field?: string;
}

/**
 * The instance's internal API, for the gateway: liveness and readiness, a load report cheap enough to
 * poll (and carried on every /generate and /infer response as x-warmgate-load), generation streamed as
 * NDJSON events, tensor inference, drain, Prometheus metrics. Errors answer
 * { error: { code, message, field? } } with the engine's stable codes. A W3C traceparent header makes
 * the request's spans children of the caller's.
 */
export function createInstanceApp(inst: RuntimeInstance, options: { bodyLimitBytes?: number } = {}): Hono {
  const app = new Hono();
  const { tracer } = inst.telemetry;

  // The instance trusts no body: one over the limit is refused before it is buffered (chunked ones too).
  const maxBody = options.bodyLimitBytes ?? DEFAULT_INSTANCE_BODY_LIMIT;
  const limited = bodyLimit({
    maxSize: maxBody,
    // The rest of the body is not read: the connection closes after the answer rather than be reused.
    onError: (c) =>
      c.json(
        { error: { code: 'body_too_large', message: `the body is over the ${maxBody}-byte limit` } },
        413,
        { Connection: 'close' },
      ),
  });
  app.use('/generate', limited);
  app.use('/infer', limited);

  // Set after the handler, so the report counts the request just admitted.
  const withLoad: MiddlewareHandler = async (c, next) => {
    await next();
    c.header(LOAD_HEADER, JSON.stringify(loadReport(inst)));
  };
  app.use('/generate', withLoad);
  app.use('/infer', withLoad);

  app.get('/live', (c) => c.json({ status: 'live', state: inst.state }));
  app.get('/ready', (c) =>
    c.json({ ready: inst.state === 'ready', state: inst.state }, inst.state === 'ready' ? 200 : 503),
  );
  app.get('/load', (c) => c.json(loadReport(inst)));
  app.get('/metadata', (c) =>
    inst.state === 'loading'
      ? c.json({ error: { code: 'engine_draining', message: 'still loading' } }, 503)
      : c.json(instanceMetadata(inst)),
  );
  app.get('/metrics', async (c) =>
    c.text(await inst.telemetry.metricsText(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );

  app.post('/drain', async (c) => {
    void inst.drain();
    return c.json({ state: inst.state }, 202);
  });

  app.post('/generate', async (c) => {
    const model = inst.modelName;
    const span = new GenerateTrace(
      tracer,
      contextFromHeaders((n) => c.req.header(n)),
      model,
      (r) => inst.metrics.request(model, r),
    );
    const refuse = (status: 400 | 503, error: ApiError) => {
      span.rejected(error.code, error.message);
      return c.json({ error }, status);
    };
    try {
      if (inst.state !== 'ready' || !inst.engine) {
        return refuse(503, { code: 'engine_draining', message: `instance is ${inst.state}` });
      }
      const body = await c.req.json().catch(() => null);
      if (!body || typeof body !== 'object') {
        return refuse(400, { code: 'invalid_json', message: 'send a JSON object' });
      }
      const { prompt, params, priority } = body as { prompt?: unknown; params?: unknown; priority?: unknown };
      const tokens =
        typeof prompt === 'string'
          ? inst.tokenizer.encode(prompt)
          : Array.isArray(prompt) && prompt.every((t) => Number.isInteger(t))
            ? (prompt as number[])
            : null;
      if (!tokens)
        return refuse(400, {
          code: 'invalid_request',
          field: 'prompt',
          message: 'prompt must be a string or token ids',
        });
      const checked = validateSamplingParams(params ?? {}, {
        vocabSize: inst.engine.model.manifest.architecture.vocab_size,
        maxN: inst.engine.config.maxN,
        maxStop: 4,
        maxStopLength: 64,
        maxTokens: inst.engine.model.manifest.architecture.context_length,
      });
      if (!checked.ok) {
        return refuse(400, {
          code: 'invalid_sampling_params',
          field: checked.field,
          message: checked.message,
        });
      }
      const r = inst.engine.submit({
        prompt: tokens,
        params: checked.params,
        priority: priority === 1 ? PRIORITY.batch : PRIORITY.interactive,
        signal: c.req.raw.signal, // the client left: the engine drops the request and frees its blocks
      });
      if (!r.ok) {
        const status = r.error.code === 'queue_full' || r.error.code === 'engine_draining' ? 503 : 400;
        return refuse(status, r.error);
      }
      span.admitted(r.requestId, tokens.length, checked.params, r.times);
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
              await s.write(`${JSON.stringify(ev)}\n`);
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
      // Unexpected (the engine and validation return their refusals): the span still ends.
      span.end(false, { message: String(e) });
      throw e;
    }
  });

  app.post('/infer', async (c) => {
    const startedAt = performance.now();
    const parent = contextFromHeaders((n) => c.req.header(n));
    const record = (o: InferOutcome) =>
      inst.metrics.request(inst.modelName, traceInfer(tracer, parent, inst.modelName, startedAt, o));
    const refuse = (status: 400 | 503, error: ApiError) => {
      record({ ok: false, status: 'rejected', code: error.code, message: error.message });
      return c.json({ error }, status);
    };
    if (inst.state !== 'ready' || !inst.batcher) {
      return refuse(503, { code: 'engine_draining', message: `instance is ${inst.state}` });
    }
    const body = (await c.req.json().catch(() => null)) as {
      inputs?: { name: string; shape: number[]; data: number[] }[];
    } | null;
    if (!body || !Array.isArray(body.inputs)) {
      return refuse(400, { code: 'invalid_tensor', message: 'send { inputs: [{ name, shape, data }] }' });
    }
    const inputs: NamedTensor[] = [];
    for (const t of body.inputs) {
      if (
        typeof t?.name !== 'string' ||
        !Array.isArray(t.shape) ||
        !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
        !Array.isArray(t.data) ||
        !t.data.every((x) => typeof x === 'number' && Number.isFinite(x))
      ) {
        return refuse(400, {
          code: 'invalid_tensor',
          message: 'each input needs name, shape (non-negative integers) and finite numeric data',
        });
      }
      inputs.push({ name: t.name, shape: t.shape, data: Float32Array.from(t.data) });
    }
    const batcher = inst.batcher;
    let r;
    try {
      r = await inst.trackTensor(() => batcher.infer(inputs));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      record({ ok: false, status: 'error', code: 'infer_failed', message });
      throw e;
    }
    if (!r.ok) return refuse(400, r.error);
    record({ ok: true, batchRows: r.batchRows, queueMs: r.queueMs });
    return c.json({
      outputs: r.outputs.map((o) => ({
        name: o.name,
        shape: o.shape,
        datatype: 'FP32',
        data: Array.from(o.data),
      })),
      batchRows: r.batchRows,
    });
  });

  return app;
}
