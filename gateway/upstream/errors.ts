import { ApiError, ERROR_CATALOG, type ErrorCode } from '../errors/index.ts';

/**
 * The instance failed the request before answering it (connection refused or reset, draining, full):
 * nothing reached the client, so another instance may take it.
 */
export class RetryableUpstreamError extends Error {
  readonly draining: boolean;
  constructor(message: string, draining: boolean) {
    super(message);
    this.name = 'RetryableUpstreamError';
    this.draining = draining;
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
    );
  }
  if (code && code in ERROR_CATALOG) {
    return new ApiError(code as ErrorCode, e?.message, e?.field ? { param: e.field } : {});
  }
  return new ApiError('invalid_request', e?.message ?? `instance refused the request (${status})`);
}
