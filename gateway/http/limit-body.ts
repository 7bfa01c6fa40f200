import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors/index.ts';
import { closeAfterLingering } from '../../runtime/http/lingering-close.ts';
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
      closeAfterLingering(c); // the body stays unread: discarded after the answer, then closed
      throw new ApiError('body_too_large', `the body is over the ${maxBytes}-byte limit`);
    }
    c.set('maxBodyBytes', maxBytes);
    return next();
  };
}
