import type { MiddlewareHandler } from 'hono';
import type { RuntimeInstance } from '../instance.ts';
import { LOAD_HEADER, loadReport } from '../load-report.ts';

/** Adds the load report (x-warmgate-load) to every answer, refusals too, so the gateway needs no poll. */
export function loadHeader(inst: RuntimeInstance): MiddlewareHandler {
  return async function withLoad(c, next) {
    await next();
    // Set after the handler, so the report counts the request just admitted.
    c.header(LOAD_HEADER, JSON.stringify(loadReport(inst)));
  };
}
