import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

/**
 * A request header by lower-case name. On Node it reads the incoming message's own headers: asking hono
 * would build a web Headers object for the whole request (measured, a few percent of a request's CPU).
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
