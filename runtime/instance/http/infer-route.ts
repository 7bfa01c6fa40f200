import { Hono } from 'hono';
import { ApiError } from '../../errors/index.ts';
import { contextFromHeaders } from '../../telemetry/index.ts';
import { type InferOutcome, traceInfer } from '../infer-trace.ts';
import type { RuntimeInstance } from '../instance.ts';
import type { InferResponseBody } from '../protocol.ts';
import { parseInferBody } from './infer-body.ts';
import { readJson } from './read-json.ts';
import { readyPart } from './ready-part.ts';

/**
 * POST /infer: one tensor request, batched with others by the dynamic batcher. A refusal is an ApiError
 * (answered by the app's onError with its catalog status); a failed ONNX Runtime call is unexpected and
 * answers as the app's onError answers any throw, a logged 500 internal_error.
 */
export function inferRoute(inst: RuntimeInstance): Hono {
  return new Hono().post('/infer', async (c) => {
    const startedAt = performance.now();
    const parent = contextFromHeaders((n) => c.req.header(n));
    const record = (o: InferOutcome) =>
      inst.metrics.request(
        inst.modelName,
        traceInfer(inst.telemetry.tracer, parent, inst.modelName, startedAt, o),
      );
    let r;
    try {
      const batcher = readyPart(inst, inst.batcher);
      const { inputs, sequence } = parseInferBody(await readJson(c));
      const sequences = inst.sequences;
      if (sequences && !sequence)
        throw new ApiError(
          'invalid_request',
          'this model keeps state per sequence: send sequence { id, start, end }',
          { param: 'sequence' },
        );
      if (!sequences && sequence)
        throw new ApiError('invalid_request', 'this model keeps no state: send no sequence', {
          param: 'sequence',
        });
      r = await inst.trackTensor(() =>
        sequences && sequence ? sequences.infer(sequence, inputs) : batcher.infer(inputs),
      );
      if (!r.ok) throw new ApiError(r.error.code, r.error.message);
    } catch (e) {
      record(
        e instanceof ApiError
          ? { ok: false, status: 'rejected', code: e.code, message: e.message }
          : {
              ok: false,
              status: 'error',
              code: 'internal_error',
              message: e instanceof Error ? e.message : String(e),
            },
      );
      throw e;
    }
    record({ ok: true, batchRows: r.batchRows, queueMs: r.queueMs });
    return c.json({
      outputs: r.outputs.map((o) => ({
        name: o.name,
        shape: o.shape,
        datatype: 'FP32',
        data: Array.from(o.data),
      })),
      batchRows: r.batchRows,
    } satisfies InferResponseBody);
  });
}
