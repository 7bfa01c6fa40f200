import { Hono } from 'hono';
import { ApiError, catalogErrorHandler, type ErrorCode, instanceErrorBody } from '../../errors/index.ts';
import { parseAssignBody } from './assign-body.ts';
import { readJson } from './read-json.ts';

/** Answers of `/assign`: accepted (loading begins), or why not, a catalog code. */
export type AssignResult = { ok: true } | { ok: false; code: ErrorCode; message: string };

/**
 * The API of a standby process until it gets a model: alive, never ready, and POST /assign with
 * `{ "args": [...] }` (the flags main.ts takes) turns it into that instance. Errors answer as the
 * instance's do: { error: { code, message, field? } } with the catalog's status.
 */
export function createStandbyApp(isPrimed: () => boolean, assign: (args: string[]) => AssignResult): Hono {
  return new Hono()
    .get('/live', (c) => c.json({ status: 'live', state: 'standby', primed: isPrimed() }))
    .get('/ready', (c) => c.json({ ready: false, state: 'standby' }, 503))
    .post('/assign', async (c) => {
      const r = assign(parseAssignBody(await readJson(c)));
      if (!r.ok) throw new ApiError(r.code, r.message);
      return c.json({ state: 'loading' }, 202);
    })
    .post('/drain', (c) => c.json({ state: 'standby' }, 202))
    .onError(catalogErrorHandler(instanceErrorBody));
}
