import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';
import { contextFromHeaders } from '../../runtime/telemetry/index.ts';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { clientSignal } from './client-signal.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** The deployment a request was for, once a route has found it. */
    model: string;
    /** The route answers with a stream (see markStreaming). */
    streaming: boolean;
  }
}

/**
 * The route answers with a stream (SSE, NDJSON): the request's span and metrics end when the stream
 * does, not when the handler returns. Said by the route rather than read off the response's
 * Content-Type: reading a response's headers makes hono build a web Headers object for every answer.
 */
export function markStreaming(c: Context): void {
  c.set('streaming', true);
}

/** Names the model a request was for, so the request's metrics and span carry it. */
export function noteModel(c: Context, model: string, operation: string): void {
  c.set('model', model);
  trace.getActiveSpan()?.setAttributes({ 'gen_ai.request.model': model, 'gen_ai.operation.name': operation });
}

/** Request content (prompt, completion) on the request's span, only when the operator enabled it. */
export function noteContent(enabled: boolean | undefined, attributes: Record<string, string>): void {
  if (enabled) trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * A span per request (child of the caller's W3C trace context, when it sent one) that ends when the
 * response's last byte is written, streams included; and the request's metrics, recorded at that moment.
 * With tracing off only the metrics remain: no span, no context carried.
 */
export function requestSpan(tracer: Tracer, metrics: GatewayMetrics, tracing: boolean): MiddlewareHandler {
  return async function requestSpan(c, next) {
    const t0 = performance.now();
    const span = tracing
      ? tracer.startSpan(
          `${c.req.method} ${c.req.path}`,
          {
            kind: SpanKind.SERVER,
            attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path },
          },
          contextFromHeaders((name) => c.req.header(name)),
        )
      : null;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const status = c.res.status;
      if (span) {
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      metrics.request(c.get('model') ?? '', c.req.routePath, status, performance.now() - t0);
    };
    if (span) await context.with(trace.setSpan(context.active(), span), () => next());
    else await next();
    // Only a stream's body is touched: reading .body makes hono's lightweight response a full one.
    if (c.get('streaming') && c.res.body) {
      const body = c.res.body;
      // Streaming: the span lasts until the stream closes or the client goes away.
      const watched = body.pipeThrough(new TransformStream({ flush: end }));
      clientSignal(c).addEventListener('abort', end, { once: true });
      c.res = new Response(watched, c.res);
    } else {
      end();
    }
  };
}
