import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { answerError, ApiError, instanceErrorBody } from '../../errors/index.ts';
import { closeAfterLingering, LINGER_LIMITS } from '../../http/lingering-close.ts';

/**
 * Refuses a body over `maxBytes` before it is buffered (chunked ones too), as body_too_large. The rest of
 * the body is not read: it is discarded after the answer, within bounds, and then the connection closes
 * (a client still sending gets the 413, not a reset).
 */
export function instanceBodyLimit(maxBytes: number): MiddlewareHandler {
  // The instance's limit (32 MiB) is as large as the gateway's discard bound: a body just over it would
  // be cut off with a reset. Up to twice the limit is discarded, still within LINGER_MAX_MS.
  const linger = { ...LINGER_LIMITS, maxBytes: Math.max(LINGER_LIMITS.maxBytes, 2 * maxBytes) };
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      closeAfterLingering(c, linger);
      return answerError(
        c,
        new ApiError('body_too_large', `the body is over the ${maxBytes}-byte limit`),
        instanceErrorBody,
      );
    },
  });
}
