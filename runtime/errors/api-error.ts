import { ERROR_CATALOG, type ErrorCode } from './catalog.ts';

/**
 * An error the API answers with: a stable code, the status from the catalog, a message that says what to
 * fix. The one error type of the gateway and of the runtime instance; each route family writes the body
 * in its own format.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** The request field at fault, when one is. */
  readonly param: string | null;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfter: number | null;

  constructor(code: ErrorCode, message?: string, opts: { param?: string; retryAfter?: number } = {}) {
    const spec = ERROR_CATALOG[code];
    super(message ?? `${code.replaceAll('_', ' ')}: ${spec.hint}`);
    this.name = 'ApiError';
    this.code = code;
    this.status = spec.status;
    this.param = opts.param ?? null;
    this.retryAfter = opts.retryAfter ?? null;
  }
}
