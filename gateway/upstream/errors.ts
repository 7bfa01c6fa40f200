import { ApiError, ERROR_CATALOG, type ErrorCode } from '../errors/index.ts';

/**
 * The instance failed the request before answering it (connection refused or reset, draining, full):
 * nothing reached the client, so another instance may take it.
 */
export class RetryableUpstreamError extends Error {
  readonly draining: boolean;
  /** The instance's answer; null when it gave none (unreachable, reset). */
  readonly status: number | null;
  constructor(message: string, draining: boolean, status: number | null = null) {
    super(message);
    this.name = 'RetryableUpstreamError';
    this.draining = draining;
    this.status = status;
  }
}

/** An instance's error body { error: { code, message, field? } } as the gateway's ApiError. */
export function instanceError(status: number, body: unknown): ApiError | RetryableUpstreamError {
  const e = (body as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
  const code = e?.code;
  if (status >= 500 || status === 429) {
    return new RetryableUpstreamError(
      `instance answered ${status}${code ? ` ${code}` : ''}: ${e?.message ?? ''}`,
      code === 'engine_draining',
      status,
    );
  }
  if (code && code in ERROR_CATALOG) {
    return new ApiError(code as ErrorCode, e?.message, e?.field ? { param: e.field } : {});
  }
  return new ApiError('invalid_request', e?.message ?? `instance refused the request (${status})`);
}

/** undici's codes for an instance that stayed silent past the idle timeout (no answer, no token). */
const SILENCE = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Whether `e` is the instance's silence outlasting the idle timeout (UpstreamInstance.idleTimeoutMs). */
export function isUpstreamSilence(e: unknown): boolean {
  return SILENCE.has((e as { code?: unknown } | null)?.code as string);
}

/** The client's answer when the instance went silent: 504 upstream_timeout (an SSE error event mid-stream). */
export function upstreamTimeout(instanceId: string, e: unknown): ApiError {
  return new ApiError(
    'upstream_timeout',
    `instance ${instanceId} sent nothing for too long (${(e as Error).message}); the request was aborted`,
  );
}
