import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors/index.ts';
import { requestHeader } from './request-header.ts';

/**
 * 413 body_too_large past `maxBytes`: a declared Content-Length is refused before anything is read; a
 * body without one (chunked) is counted by readJson as it arrives.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  // Not async: it hands back next()'s promise rather than wrapping it in one more.
  return function limitBody(c, next) {
    const declared = requestHeader(c, 'content-length');
    if (declared !== undefined && Number(declared) > maxBytes) {
      c.header('Connection', 'close'); // the body stays unread: the socket is not reused
      throw new ApiError('body_too_large', `the body is over the ${maxBytes}-byte limit`);
    }
    c.set('maxBodyBytes', maxBytes);
    return next();
  };
}
