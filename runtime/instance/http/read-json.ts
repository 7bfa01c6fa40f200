import type { Context } from 'hono';

/** The body parsed as JSON, or undefined when it is not JSON: each route says what it wanted instead. */
export async function readJson(c: Context): Promise<unknown> {
  return c.req.json<unknown>().catch(() => undefined);
}
