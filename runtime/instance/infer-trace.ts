import { type Context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { epochMs } from './generate-trace.ts';
import type { RequestRecord } from './metrics.ts';

export type InferOutcome =
  | { readonly ok: true; readonly batchRows: number; readonly queueMs: number }
  | {
      readonly ok: false;
      readonly status: 'rejected' | 'error';
      readonly code: string;
      readonly message: string;
    };

/**
 * Records one /infer request, once it is answered, as span `runtime.infer` (from `startedAt`, a
 * performance.now() time) with a `runtime.queue` child for its wait in the dynamic batcher; returns
 * its metrics.
 */
export function traceInfer(
  tracer: Tracer,
  parent: Context,
  model: string,
  startedAt: number,
  outcome: InferOutcome,
): RequestRecord {
  const now = performance.now();
  const span = tracer.startSpan(
    'runtime.infer',
    { kind: SpanKind.SERVER, startTime: epochMs(startedAt), attributes: { 'warmgate.model': model } },
    parent,
  );
  if (outcome.ok) {
    span.setAttributes({ 'warmgate.batch_rows': outcome.batchRows, 'warmgate.status': 'ok' });
    tracer
      .startSpan('runtime.queue', { startTime: epochMs(startedAt) }, trace.setSpan(parent, span))
      .end(epochMs(startedAt + outcome.queueMs));
    span.setStatus({ code: SpanStatusCode.OK });
  } else {
    span.setAttributes({ 'warmgate.status': outcome.status, 'error.type': outcome.code });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.code}: ${outcome.message}` });
  }
  span.end(epochMs(now));
  if (!outcome.ok) return { status: outcome.status };
  return { status: 'ok', queueS: outcome.queueMs / 1000, e2eS: (now - startedAt) / 1000 };
}
