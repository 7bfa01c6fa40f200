import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { PRIORITY, validateSamplingParams } from '../engine/index.ts';
import type { NamedTensor } from '../tensor/index.ts';
import type { RuntimeInstance } from './instance.ts';

/**
 * The instance's internal API, for the gateway: liveness and readiness, a load report cheap enough to
 * poll, generation streamed as NDJSON events, tensor inference, drain. Errors answer
 * { error: { code, message, field? } } with the engine's stable codes.
 */
export function createInstanceApp(inst: RuntimeInstance): Hono {
  const app = new Hono();

  app.get('/live', (c) => c.json({ status: 'live', state: inst.state }));
  app.get('/ready', (c) =>
    c.json({ ready: inst.state === 'ready', state: inst.state }, inst.state === 'ready' ? 200 : 503),
  );

  app.get('/load', (c) => {
    const s = inst.engine?.stats();
    return c.json({
      model: inst.modelName,
      kind: inst.kind,
      state: inst.state,
      ...(s
        ? {
            running: s.running,
            waiting: s.waiting,
            kvUsagePct: s.kvUsagePct,
            kvFreeBlocks: s.kvFreeBlocks,
            kvTotalBlocks: s.kvTotalBlocks,
            prefixHitRate: s.prefixHitRate,
            recentTokensPerSec: s.recentTokensPerSec,
          }
        : {}),
    });
  });

  app.post('/drain', async (c) => {
    void inst.drain();
    return c.json({ state: inst.state }, 202);
  });

  app.post('/generate', async (c) => {
    if (inst.state !== 'ready' || !inst.engine) {
      return c.json({ error: { code: 'engine_draining', message: `instance is ${inst.state}` } }, 503);
    }
    const body = await c.req.json().catch(() => null);
    if (!body || typeof body !== 'object') {
      return c.json({ error: { code: 'invalid_json', message: 'send a JSON object' } }, 400);
    }
    const { prompt, params, priority } = body as { prompt?: unknown; params?: unknown; priority?: unknown };
    const tokens =
      typeof prompt === 'string'
        ? inst.tokenizer.encode(prompt)
        : Array.isArray(prompt) && prompt.every((t) => Number.isInteger(t))
          ? (prompt as number[])
          : null;
    if (!tokens)
      return c.json(
        {
          error: {
            code: 'invalid_request',
            field: 'prompt',
            message: 'prompt must be a string or token ids',
          },
        },
        400,
      );
    const checked = validateSamplingParams(params ?? {}, {
      vocabSize: inst.engine.model.manifest.architecture.vocab_size,
      maxN: inst.engine.config.maxN,
      maxStop: 4,
      maxStopLength: 64,
      maxTokens: inst.engine.model.manifest.architecture.context_length,
    });
    if (!checked.ok) {
      return c.json(
        { error: { code: 'invalid_sampling_params', field: checked.field, message: checked.message } },
        400,
      );
    }
    const r = inst.engine.submit({
      prompt: tokens,
      params: checked.params,
      priority: priority === 1 ? PRIORITY.batch : PRIORITY.interactive,
      signal: c.req.raw.signal, // the client left: the engine drops the request and frees its blocks
    });
    if (!r.ok) {
      const status = r.error.code === 'queue_full' || r.error.code === 'engine_draining' ? 503 : 400;
      return c.json({ error: r.error }, status);
    }
    c.header('Content-Type', 'application/x-ndjson');
    c.header('X-Request-Id', r.requestId);
    return stream(c, async (s) => {
      s.onAbort(() => {
        inst.engine?.abort(r.requestId);
      });
      for await (const ev of r.events) await s.write(`${JSON.stringify(ev)}\n`);
    });
  });

  app.post('/infer', async (c) => {
    if (inst.state !== 'ready' || !inst.batcher) {
      return c.json({ error: { code: 'engine_draining', message: `instance is ${inst.state}` } }, 503);
    }
    const body = (await c.req.json().catch(() => null)) as {
      inputs?: { name: string; shape: number[]; data: number[] }[];
    } | null;
    if (!body || !Array.isArray(body.inputs)) {
      return c.json(
        { error: { code: 'invalid_tensor', message: 'send { inputs: [{ name, shape, data }] }' } },
        400,
      );
    }
    const inputs: NamedTensor[] = [];
    for (const t of body.inputs) {
      if (
        typeof t?.name !== 'string' ||
        !Array.isArray(t.shape) ||
        !Array.isArray(t.data) ||
        !t.data.every((x) => typeof x === 'number')
      ) {
        return c.json(
          { error: { code: 'invalid_tensor', message: 'each input needs name, shape and numeric data' } },
          400,
        );
      }
      inputs.push({ name: t.name, shape: t.shape, data: Float32Array.from(t.data) });
    }
    const r = await inst.trackTensor(() => inst.batcher!.infer(inputs));
    if (!r.ok) return c.json({ error: r.error }, 400);
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
