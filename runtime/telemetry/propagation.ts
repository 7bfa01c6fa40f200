import { type Context, context, ROOT_CONTEXT, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

// Used directly rather than through the global propagator, which a process may leave unset.
const w3c = new W3CTraceContextPropagator();

/** W3C traceparent/tracestate headers of the given (default: active) context, for an upstream call. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  w3c.inject(ctx, headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  return headers;
}

type HeaderGet = (name: string) => string | undefined | null;

const getter: TextMapGetter<HeaderGet> = {
  keys: () => [],
  get: (get, key) => get(key) ?? undefined,
};

/**
 * The context carried by incoming W3C headers (a plain header getter so both hono and undici can use
 * it). It starts from the root context: an incoming request's parent is what its headers say, nothing else.
 */
export function contextFromHeaders(get: HeaderGet): Context {
  return w3c.extract(ROOT_CONTEXT, get, getter);
}
