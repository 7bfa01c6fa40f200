import { ERROR_CATALOG, type ErrorCode } from './catalog.ts';

/** An error the API answers with: a stable code, the status from the catalog, a message that says what to fix. */
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

/** The body OpenAI's clients parse: { error: { message, type, param, code } }. */
export function openAIErrorBody(e: ApiError): {
  error: { message: string; type: string; param: string | null; code: ErrorCode };
} {
  return { error: { message: e.message, type: ERROR_CATALOG[e.code].type, param: e.param, code: e.code } };
}

/** The body of the Open Inference Protocol (KServe v2): { error: message }, with the code kept alongside. */
export function kserveErrorBody(e: ApiError): { error: string; code: ErrorCode } {
  return { error: e.message, code: e.code };
}
