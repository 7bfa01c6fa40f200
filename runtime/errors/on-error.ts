import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from './api-error.ts';
import type { ErrorCode } from './catalog.ts';

/** Statuses that Hono's own middleware throws, as catalog codes. 400 is bad JSON unless it says otherwise. */
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_json',
  401: 'unauthorized',
  404: 'route_not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

export interface CatalogErrorHandlerOptions {
  /** Where errors that are not ApiErrors are reported. Default console.error. */
  log?: (message: string, error: unknown) => void;
}

/**
 * A Hono `onError` that answers every error with `body(e)`, the route family's format: an ApiError with
 * its catalog status; bad JSON (SyntaxError from `c.req.json()`, or Hono's HTTPException) as
 * invalid_json; anything else as a logged 500 internal_error whose message reveals nothing of the cause.
 */
export function catalogErrorHandler(
  body: (e: ApiError) => object,
  options: CatalogErrorHandlerOptions = {},
): ErrorHandler {
  const log = options.log ?? ((message, error) => console.error(message, error));
  return function onError(err: Error, c: Context): Response {
    const e = toApiError(err);
    if (e === null) {
      if (err instanceof HTTPException) return err.getResponse(); // a status the catalog has no code for
      log(`${c.req.method} ${c.req.path} failed`, err);
      return answerError(c, new ApiError('internal_error'), body);
    }
    return answerError(c, e, body);
  };
}

/** Answers `e` with its catalog status, Retry-After when it has one, and any extra headers. */
export function answerError(
  c: Context,
  e: ApiError,
  body: (e: ApiError) => object,
  headers: Record<string, string> = {},
): Response {
  if (e.retryAfter !== null) c.header('Retry-After', String(Math.ceil(e.retryAfter)));
  return c.json(body(e), e.status as ContentfulStatusCode, headers);
}

function toApiError(err: Error): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof SyntaxError)
    return new ApiError('invalid_json', `the body is not valid JSON: ${err.message}`);
  if (err instanceof HTTPException) {
    let code = HTTP_EXCEPTION_CODES[err.status];
    if (code === undefined) return null;
    if (code === 'invalid_json' && !/json/i.test(err.message)) code = 'invalid_request';
    return new ApiError(code, err.message || undefined);
  }
  return null;
}
