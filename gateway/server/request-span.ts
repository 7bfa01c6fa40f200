import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { contextFromHeaders } from '../../runtime/telemetry/index.ts';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.ts';

const models = new WeakMap<Request, string>();

/** Names the model a request was for, so the request's metrics and span carry it. */
export function noteModel(req: Request, model: string, operation: string): void {
  models.set(req, model);
  trace.getActiveSpan()?.setAttributes({ 'gen_ai.request.model': model, 'gen_ai.operation.name': operation });
}

/**
 * A span per request (child of the caller's W3C trace context, when it sent one) that ends when the
 * response's last byte is written, streams included; and the request's metrics, recorded at that moment.
 */
export function requestSpan(tracer: Tracer, metrics: GatewayMetrics): MiddlewareHandler {
  return async function requestSpan(c, next) {
    const t0 = performance.now();
    const parent = contextFromHeaders((name) => c.req.header(name));
    const route = c.req.routePath === '/*' ? c.req.path : c.req.routePath;
    const span = tracer.startSpan(
      `${c.req.method} ${c.req.path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path },
      },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const status = c.res.status;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      metrics.request(models.get(c.req.raw) ?? '', c.req.routePath || route, status, performance.now() - t0);
    };
    await context.with(trace.setSpan(parent, span), () => next());
    const body = c.res.body;
    const type = c.res.headers.get('content-type') ?? '';
    if (body && (type.startsWith('text/event-stream') || type.startsWith('application/x-ndjson'))) {
      // Streaming: the span lasts until the stream closes or the client goes away.
      const watched = body.pipeThrough(
        new TransformStream({
          flush: end,
        }),
      );
      c.req.raw.signal.addEventListener('abort', end, { once: true });
      c.res = new Response(watched, c.res);
    } else {
      end();
    }
  };
}
