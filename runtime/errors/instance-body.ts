import type { ApiError } from './api-error.ts';
import type { ErrorCode } from './catalog.ts';

/** The runtime instance's error body, which the gateway reads: { error: { code, message, field? } }. */
export interface InstanceErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly field?: string };
}

export function instanceErrorBody(e: ApiError): InstanceErrorBody {
  return {
    error: { code: e.code, message: e.message, ...(e.param !== null && { field: e.param }) },
  };
}
