import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { answerError, ApiError, instanceErrorBody } from '../../errors/index.ts';

/**
 * Refuses a body over `maxBytes` before it is buffered (chunked ones too), as body_too_large. The rest of
 * the body is not read, so the connection closes after the answer rather than be reused.
 */
export function instanceBodyLimit(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      answerError(
        c,
        new ApiError('body_too_large', `the body is over the ${maxBytes}-byte limit`),
        instanceErrorBody,
        { Connection: 'close' },
      ),
  });
}
