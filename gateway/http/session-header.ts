import type { Context } from 'hono';
import { ApiError } from '../errors/index.ts';

export const SESSION_HEADER = 'x-warmgate-session';
const MAX_SESSION_LENGTH = 256;

/**
 * The conversation a generation continues, from header x-warmgate-session (any client can set a header;
 * the OpenAI clients' `extra_headers`/`defaultHeaders`); undefined when absent. Routing keeps a
 * conversation on the instance that holds its KV blocks.
 */
export function sessionOf(c: Context): string | undefined {
  const v = c.req.header(SESSION_HEADER);
  if (v === undefined) return undefined;
  if (v.length === 0 || v.length > MAX_SESSION_LENGTH) {
    throw new ApiError('invalid_request', `${SESSION_HEADER} must be 1 to ${MAX_SESSION_LENGTH} characters`, {
      param: SESSION_HEADER,
    });
  }
  return v;
}
